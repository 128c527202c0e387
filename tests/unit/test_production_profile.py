"""A production profile refuses to start with development settings; the embedded default starts as it is."""
from __future__ import annotations

import os
import subprocess
import sys

from bot.config import Settings, production_problems
from tests.apps import REPO

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
HARDENED = {"require_login": True, "wechat_appid": "wx0000000000000001", "wechat_secret": "s", "wechat_token": "t",
            "wechat_aes_key": "a" * 43, "wechat_safe_mode_only": True, "field_key": KEY, "search_key": KEY,
            "session_token_key": KEY, "host": "0.0.0.0",
            "payments": {"provider": "wechatpay", "wechatpay": {
                "appid": "wx1", "mchid": "1", "merchant_serial": "S", "merchant_private_key_path": "k.pem",
                "platform_public_key_path": "p.pem", "platform_public_key_id": "PUB_KEY_ID_1", "api_v3_key": "k",
                "notify_url": "https://example.org/api/v1/payments/wechat/notify"}}}


def test_the_embedded_default_is_development_and_has_no_problems() -> None:
    settings = Settings.load(REPO / "config.yaml")
    assert settings.environment == "development" and production_problems(settings) == []


def test_production_names_every_development_setting() -> None:
    problems = production_problems(Settings.load(None, environment="production", host="0.0.0.0"))
    named = "\n".join(problems)
    for setting in ("payments.provider is sandbox", "identity verification is the sandbox", "require_login",
                    "wechat_safe_mode_only", "field_key", "search_key", "session_token_key", "host 0.0.0.0"):
        assert setting in named
    assert len(problems) == 8


def test_production_with_real_settings_is_refused_only_for_the_sandbox_identity_verifier() -> None:
    problems = production_problems(Settings.load(None, environment="production", **HARDENED))
    assert problems == [p for p in problems if "identity verification" in p] and len(problems) == 1


def test_app_refuses_to_start_in_production_naming_the_settings(tmp_path) -> None:
    env = {**os.environ, "ZWB_ENVIRONMENT": "production", "ZWB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/a.db"}
    run = subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "payments.provider is sandbox" in run.stderr and "require_login is false" in run.stderr
    assert "field_key is empty" in run.stderr
