"""The WeChat Pay simulator's keys: the merchant's and the platform's key pairs, made fresh for a test or kept in a
folder for a standalone simulator, with the client configuration and app settings that point at it."""
from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from providers import wechatpay_crypto as crypto


@dataclass(frozen=True)
class SimKeys:
    """Everything both sides need: the merchant's key pair and serial, the platform key pair and id, the
    APIv3 key, appid and mchid. Private material is kept out of repr()."""

    appid: str
    mchid: str
    merchant_serial: str
    platform_public_key_id: str
    merchant_private_key_pem: str = field(repr=False)
    merchant_public_key_pem: str = field(repr=False)
    platform_private_key_pem: str = field(repr=False)
    platform_public_key_pem: str = field(repr=False)
    api_v3_key: str = field(repr=False)

    def client_config(self, base_url: str, notify_url: str) -> dict[str, Any]:
        """The fields of providers.wechatpay.WeChatPayConfig for a client of this simulator."""
        return {"base_url": base_url, "appid": self.appid, "mchid": self.mchid,
                "merchant_serial": self.merchant_serial, "merchant_private_key_pem": self.merchant_private_key_pem,
                "platform_public_key_pem": self.platform_public_key_pem,
                "platform_public_key_id": self.platform_public_key_id, "api_v3_key": self.api_v3_key,
                "notify_url": notify_url}


def generate_test_keys(*, appid: str = "wx8888888888888888", mchid: str = "1900000109") -> SimKeys:
    """Fresh merchant and platform RSA-2048 key pairs, a merchant serial, a PUB_KEY_ID_ and an APIv3 key."""
    merchant, platform = crypto.generate_private_key_pem(), crypto.generate_private_key_pem()
    alphabet = string.ascii_letters + string.digits
    return SimKeys(appid=appid, mchid=mchid, merchant_serial=secrets.token_hex(20).upper(),
                   platform_public_key_id="PUB_KEY_ID_01" + "".join(secrets.choice(string.digits) for _ in range(26)),
                   merchant_private_key_pem=merchant, merchant_public_key_pem=crypto.public_key_pem(merchant),
                   platform_private_key_pem=platform, platform_public_key_pem=crypto.public_key_pem(platform),
                   api_v3_key="".join(secrets.choice(alphabet) for _ in range(32)))


def load_or_create_keys(folder: Path) -> SimKeys:
    """The keys saved in folder/keys.json, or new ones saved there (private key files readable by the owner only)."""
    path = folder / "keys.json"
    if path.exists():
        return SimKeys(**json.loads(path.read_text()))
    keys = generate_test_keys()
    folder.mkdir(parents=True, exist_ok=True)
    write_private(path, json.dumps(asdict(keys), indent=2))
    write_private(folder / "merchant_private_key.pem", keys.merchant_private_key_pem)
    (folder / "platform_public_key.pem").write_text(keys.platform_public_key_pem)
    return keys


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by the owner only."""
    path.write_text(text)
    os.chmod(path, 0o600)


def write_client_files(folder: Path, keys: SimKeys, base_url: str, notify_url: str) -> None:
    """client-config.json (WeChatPayConfig fields) and app.env (ZWB_PAYMENTS__* settings) for a simulator at
    `base_url`, next to the keys in `folder`."""
    write_private(folder / "client-config.json",
                  json.dumps(keys.client_config(base_url, notify_url), indent=2, ensure_ascii=False))
    write_private(folder / "app.env", _app_env(keys, folder, base_url, notify_url))


def _app_env(keys: SimKeys, folder: Path, base_url: str, notify_url: str) -> str:
    """Environment overrides that point the app (bot/config.py, payments.wechatpay) at this simulator."""
    values = {"PROVIDER": "wechatpay", "WECHATPAY__BASE_URL": base_url, "WECHATPAY__APPID": keys.appid,
              "WECHATPAY__MCHID": keys.mchid, "WECHATPAY__MERCHANT_SERIAL": keys.merchant_serial,
              "WECHATPAY__MERCHANT_PRIVATE_KEY_PATH": str(folder / "merchant_private_key.pem"),
              "WECHATPAY__PLATFORM_PUBLIC_KEY_PATH": str(folder / "platform_public_key.pem"),
              "WECHATPAY__PLATFORM_PUBLIC_KEY_ID": keys.platform_public_key_id,
              "WECHATPAY__API_V3_KEY": keys.api_v3_key, "WECHATPAY__NOTIFY_URL": notify_url}
    return "".join(f"ZWB_PAYMENTS__{name}={value}\n" for name, value in values.items())
