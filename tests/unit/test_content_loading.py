"""Content the product team edits: errors name file, line and reason; a bad script never stops the service."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.content import load_content
from bot.content_errors import ContentInvalid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def intents(tmp_path: Path) -> Path:
    target = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", target)
    return target


def test_seed_catalog_is_complete(content) -> None:
    catalog = content.catalog
    assert len(catalog.items) >= 80 and len(catalog.bundles) >= 6
    departments = {i.department for i in catalog.items.values()}
    for dept in ("公安", "人力资源", "医疗保障", "公积金", "民政", "卫生健康", "残疾人", "市场监督", "税务",
                 "自然资源", "教育", "退役军人", "农牧", "供电"):
        assert any(dept in d for d in departments), dept
    assert {i.level.value for i in catalog.items.values()} == {"city", "township", "village"}
    names = {i.name for i in catalog.items.values()}
    for everyday in ("居民身份证换领", "出生登记", "无犯罪记录证明开具", "异地就医备案", "内地居民结婚登记",
                     "个体工商户设立登记", "不动产转移登记", "义务教育阶段新生入学", "供水报装"):
        assert everyday in names
    assert 0 < catalog.online_rate() < 1


def test_bad_script_is_reported_with_line_and_skipped(intents: Path, caplog) -> None:
    (intents / "scripts" / "broken.yaml").write_text(
        "item: GA0090000\nsteps:\n  - field: applicant_name\n  - field: phone\n    type: colour\n",
        encoding="utf-8")
    (intents / "scripts" / "unknown_field.yaml").write_text(
        "item: GA0100000\nsteps:\n  - field: favourite_food\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        content = load_content(intents, logging.getLogger("t"))
    errors = [str(e) for e in content.scripts.errors]
    assert any(e.startswith("scripts/broken.yaml:5:") and "type" in e for e in errors), errors
    assert any("unknown_field.yaml" in e and "favourite_food" in e for e in errors), errors
    assert "GA0090000" not in content.scripts.scripts  # falls back to the default steps
    assert content.scripts.plan(content.catalog.target("GA0090000")).fields
    assert "script skipped" in caplog.text


def test_yaml_syntax_error_names_the_line(intents: Path) -> None:
    (intents / "catalog" / "zz_bad.yaml").write_text("items:\n  - code: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentInvalid) as info:
        Catalog.load(intents / "catalog")
    assert "zz_bad.yaml" in str(info.value) and "YAML syntax" in str(info.value)


def test_invalid_item_names_field_and_line(intents: Path) -> None:
    text = (intents / "catalog" / "gongan.yaml").read_text(encoding="utf-8")
    text = text.replace("promised_days: 15", "promised_days: 999", 1)
    (intents / "catalog" / "gongan.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ContentInvalid) as info:
        Catalog.load(intents / "catalog")
    error = info.value.errors[0]
    assert error.file.endswith("gongan.yaml") and error.line > 1
    assert "promised_days must not exceed legal_days" in error.reason


def test_bundle_with_unknown_item_is_refused(intents: Path) -> None:
    (intents / "catalog" / "zz_bundle.yaml").write_text(
        "bundles:\n  - id: ghost\n    name: 幽灵一件事\n    department: 德令哈市民政局\n"
        "    items: [GA0010000, XX9999999]\n    guide: 测试\n", encoding="utf-8")
    with pytest.raises(ContentInvalid, match="XX9999999"):
        Catalog.load(intents / "catalog")
