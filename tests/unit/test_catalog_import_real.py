"""The importer on a real 实施清单 export nobody on this project wrote (广东省, ../shared/data/real-catalog):
most rows accepted, nothing invented, keys unique and stable, material keys that never mix two documents."""
from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.catalog.import_phrases import Beside
from bot.catalog.import_cells import EMPTY
from bot.catalog.importer import DEFAULT_VOCABULARY, ImportReport, import_rows, write_catalog
from bot.catalog.models import DayUnit, Level, OnlineLevel, ServiceItem
from bot.catalog.punctuation import chinese_punctuation
from bot.catalog.vocabulary import MaterialVocabulary, trim
from bot.quality.checks import check_directory
from tests.shared_data import shared_data

ROOT = Path(__file__).resolve().parents[2]
LIMIT = re.compile(r"(\d+)\((工作日|自然日)\)")  # the export's only form besides 无


@pytest.fixture(scope="module")
def export() -> Path:
    return shared_data("real-catalog/guangdong-raw.csv")


@pytest.fixture(scope="module")
def rows(export: Path) -> dict[str, dict[str, str]]:
    """The export's rows by 实施编码."""
    with export.open(encoding="utf-8-sig", newline="") as f:
        return {row["实施编码"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def report(export: Path) -> ImportReport:
    return import_rows(export)


@pytest.fixture(scope="module")
def items(report: ImportReport) -> dict[str, ServiceItem]:
    return {item.code: item for item in report.items}


def test_at_least_95_percent_of_rows_are_accepted(report: ImportReport, rows: dict[str, dict[str, str]]) -> None:
    print(f"real export: {len(rows)} rows, {len(report.items)} accepted, {len(report.rejected)} rejected, "
          f"{len(report.warnings)} warnings")
    assert len(report.items) >= 0.95 * len(rows)
    assert len(report.items) + len(report.rejected) == len(rows)


def test_each_row_is_an_item_keyed_by_its_implementation_code(items: dict[str, ServiceItem],
                                                             rows: dict[str, dict[str, str]]) -> None:
    by_basic_code: dict[str, list[ServiceItem]] = defaultdict(list)
    for code, item in items.items():
        assert item.implementation_code == code and item.basic_code == rows[code]["事项编码"]
        assert item.situation == (chinese_punctuation(rows[code]["子项名称"]) or None)
        by_basic_code[item.basic_code].append(item)
    shared = [group for group in by_basic_code.values() if len(group) > 1]
    assert shared  # several 情形 or offices under one 事项编码 stay apart
    assert any(len({i.situation for i in group}) > 1 for group in shared)
    assert any(len({i.department for i in group}) > 1 for group in shared)


def test_nothing_is_invented(items: dict[str, ServiceItem], rows: dict[str, dict[str, str]]) -> None:
    for code, item in items.items():
        row = rows[code]
        assert item.fee.unknown == (row["收费标准"] == "")  # no fee stated is not 免费
        for column, limit in (("承诺时限", item.promised), ("法定时限", item.legal)):
            if row[column] == "无":
                assert limit is None
            else:
                days, unit = LIMIT.fullmatch(row[column]).groups()  # type: ignore[union-attr]
                assert limit == (int(days), DayUnit.calendar if unit == "自然日" else DayUnit.workday)
        assert item.level is {"省级": Level.province, "市级": Level.city}[row["行使层级"]]
        assert item.short_name is None or item.short_name not in EMPTY
        texts = [*item.aliases, *item.conditions, *item.legal_basis, *(m.name for m in item.materials)]
        assert not [t for t in texts if t in EMPTY or trim(t) in EMPTY], code
        assert (row["申请材料"] in EMPTY | {""}) == (not item.materials)
        if item.online is OnlineLevel.full_online:
            assert all(location.hours is None for location in item.locations)
        if row["咨询电话"] in EMPTY:
            assert item.consult_phone is None
        else:  # every digit kept, a label like “电话：” dropped, Chinese punctuation
            assert item.consult_phone and item.consult_phone in chinese_punctuation(row["咨询电话"])
            assert re.sub(r"\D", "", item.consult_phone) == re.sub(r"\D", "", row["咨询电话"])
        assert item.platform == (None if row["办理平台"] in EMPTY else chinese_punctuation(row["办理平台"]))
        assert item.visits == int(row["到现场次数"])
    calendar_days = [i for i in items.values() if i.legal_unit is DayUnit.calendar]
    assert calendar_days and all("自然日" in rows[i.code]["法定时限"] for i in calendar_days)


def test_two_different_documents_never_share_a_key(items: dict[str, ServiceItem]) -> None:
    vocabulary = MaterialVocabulary.load(DEFAULT_VOCABULARY)
    users: dict[str, set[tuple[str, str]]] = defaultdict(set)  # key -> {(item, document name)}
    for item in items.values():
        for material in item.materials:
            users[material.key].add((item.code, trim(material.name)))
    for key, uses in users.items():
        common = {vocabulary.common_key(name) for _, name in uses}
        if common == {key}:
            continue  # one common document, named alike in several items
        assert common == {None} and len(uses) == 1, (key, sorted(uses)[:5])


def test_the_same_common_document_gets_the_same_key_in_every_item(items: dict[str, ServiceItem]) -> None:
    keys: dict[str, set[str]] = defaultdict(set)
    for item in items.values():
        for material in item.materials:
            if trim(material.name) in ("居民身份证", "身份证", "本人身份证", "户口簿", "居民户口簿", "营业执照"):
                keys[trim(material.name)].add(material.key)
    assert keys["居民身份证"] == keys["身份证"] == keys["本人身份证"] == {"id_card"}
    assert keys["居民户口簿"] == keys["户口簿"] == {"household_register"}
    assert keys["营业执照"] == {"business_licence"}
    items_with_id_card = [i for i in items.values() if any(m.key == "id_card" for m in i.materials)]
    assert len(items_with_id_card) > 100


def test_keys_are_stable_across_imports(export: Path, report: ImportReport) -> None:
    again = import_rows(export)
    assert [(i.code, [m.key for m in i.materials]) for i in again.items] == \
        [(i.code, [m.key for m in i.materials]) for i in report.items]


def test_imported_catalog_loads_beside_the_sample(report: ImportReport, tmp_path: Path) -> None:
    write_catalog(report.items, tmp_path / "imported.yaml")
    catalog = Catalog.load(tmp_path)
    assert list(catalog.items.values()) == report.items


@pytest.mark.slow
def test_imported_over_the_seed_it_passes_the_publish_checks(export: Path, rows: dict[str, dict[str, str]],
                                                             tmp_path: Path) -> None:
    """As the studio imports it into a draft of the live version: no check error blocks publishing."""
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder)
    report = import_rows(export, beside=Beside.load(folder))
    write_catalog(report.items, folder / "catalog" / "imported.yaml")
    errors = [str(f) for f in check_directory(folder) if f.severity == "error"]
    print(f"over the seed: {len(report.items)} accepted, {len(report.rejected)} rejected, "
          f"{len(report.warnings)} warnings, {len(errors)} check errors")
    assert errors == []
    assert len(report.items) >= 0.95 * len(rows)
    assert all(r.column in ("事项名称", "办理形式、办理地点") for r in report.rejected)
