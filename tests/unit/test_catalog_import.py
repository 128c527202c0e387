"""Tests for the 实施清单 CSV/XLSX importer (bot/catalog/importer.py)."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from bot.catalog.importer import ImportReport, import_rows, main, write_catalog
from bot.catalog.models import CatalogFile, Level, OnlineLevel

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "catalog_sample.csv"


def _rows() -> list[list[str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def _check_sample(report: ImportReport) -> None:
    """Items are keyed by 实施编码 and keep their 事项编码; row 5 breaks one rule, row 7 five at once."""
    assert [i.code for i in report.items] == ["MZ00120001-632802-1", "SC00210001-632802-1",
                                              "ZR00350001-632802-1", "RS00310001-632802-1"]
    assert [i.basic_code for i in report.items] == ["MZ00120001", "SC00210001", "ZR00350001", "RS00310001"]
    assert [(r.row, r.column) for r in report.rejected] == [
        (5, "承诺时限、法定时限"), (7, "行使层级、办理形式、申请材料、承诺时限、事项类型")]
    assert "承诺时限不能超过法定时限" in report.rejected[0].reason
    assert all(word in report.rejected[1].reason for word in ("部级", "邮寄", "大概要", "十五天", "取值无效"))


def test_csv_import_parses_fields_and_reports_bad_rows() -> None:
    report = import_rows(SAMPLE)
    _check_sample(report)
    dibao, trader, transfer, pension = report.items
    assert dibao.level is Level.township and dibao.online is OnlineLevel.one_visit
    assert (dibao.promised_days, dibao.legal_days) == (20, 30)
    assert len(dibao.legal_basis) == 2 and len(dibao.conditions) == 3
    assert [loc.name for loc in dibao.locations][1].startswith("河东街道")
    assert dibao.aliases == ["低保", "吃低保", "最低生活保障", "困难补助"]
    assert (trader.promised_days, trader.legal_days) == (0, 3)
    assert trader.locations[0].phone == "0977-0000000"
    assert [m.key for m in trader.materials][:2] == ["sole_trader_application", "id_card"]
    assert trader.materials[2].key.startswith("m_")  # not a common document: a key of this item only
    assert transfer.fee.amount == Decimal("80") and "2559号" in (transfer.fee.basis or "")
    contract = next(m for m in transfer.materials if m.key == "sale_contract")
    assert contract.copies == 2 and not next(m for m in transfer.materials if m.key == "tax_receipt").required
    assert pension.level is Level.province
    text = report.render()
    assert "接受 4 条" in text and "拒绝 2 条" in text
    assert "第5行" in text and "第7行" in text


def test_xlsx_import_matches_csv(tmp_path: Path) -> None:
    wb = Workbook()
    sheet = wb.active
    for row in _rows():
        sheet.append(row)
    sheet["N3"] = 3  # plain number for 法定时限
    sheet["K4"] = 80  # numeric fee cell
    path = tmp_path / "catalog.xlsx"
    wb.save(path)
    report = import_rows(path)
    _check_sample(report)
    assert report.items == import_rows(SAMPLE).items


def test_round_trip_write_load(tmp_path: Path) -> None:
    items = import_rows(SAMPLE).items
    out = tmp_path / "sub" / "imported.yaml"
    write_catalog(items, out)
    raw = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert raw["items"][2]["fee"]["amount"] == 80 and isinstance(raw["items"][2]["fee"]["amount"], int)
    assert raw["items"][3]["level"] == "province"
    assert "德令哈市民政局" in out.read_text(encoding="utf-8")
    assert CatalogFile.model_validate(raw).items == items


def test_gbk_csv(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "gbk.csv", _rows(), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    _check_sample(import_rows(path))


def test_utf8_bom_csv(tmp_path: Path) -> None:
    _check_sample(import_rows(_write_csv(tmp_path / "bom.csv", _rows(), encoding="utf-8-sig")))


def test_duplicate_code_rejects_second_occurrence(tmp_path: Path) -> None:
    rows = _rows()
    path = _write_csv(tmp_path / "dup.csv", rows + [rows[2]])
    report = import_rows(path)
    assert len(report.items) == 4
    assert report.rejected[-1].row == 8 and report.rejected[-1].column == "实施编码"
    assert "第3行" in report.rejected[-1].reason


def test_missing_name_and_bad_material(tmp_path: Path) -> None:
    rows = _rows()
    header, good = rows[0], rows[1]
    no_name = list(good)
    no_name[header.index("事项名称")] = ""
    bad_material = list(good)
    bad_material[0] = "MZ00120002"
    bad_material[header.index("申请材料")] = "居民身份证|id_card|大概要"
    report = import_rows(_write_csv(tmp_path / "bad.csv", [header, no_name, bad_material]))
    assert not report.items
    assert report.rejected[0][:2] == (2, "事项名称") and "不能为空" in report.rejected[0].reason
    assert report.rejected[1][:2] == (3, "申请材料") and "大概要" in report.rejected[1].reason


@pytest.mark.parametrize("column, value, reason", [
    ("事项类型", "行政处罚", "取值无效"),
    ("事项编码", "ab12", "格式不对"),
    ("收费标准", "-5", "不能小于 0"),
    ("承诺时限", "十五天", "十五天"),
    ("办理地点", "只有名称|", "名称|地址"),
    ("申请材料", "居民身份证|Bad Key", "小写字母"),
    ("办理形式", "邮寄", "邮寄"),
])
def test_bad_cell_reasons(tmp_path: Path, column: str, value: str, reason: str) -> None:
    header, row = _rows()[:2]
    row[header.index(column)] = value
    report = import_rows(_write_csv(tmp_path / "bad.csv", [header, row]))
    assert not report.items and report.rejected[0][:2] == (2, column)
    assert reason in report.rejected[0].reason


@pytest.mark.parametrize("column, value, attr, expected", [
    ("行使层级", "村（社区）", "level", Level.village),
    ("行使层级", "township", "level", Level.township),
    ("办理形式", "到现场", "online", OnlineLevel.on_site),
    ("法定时限", "45", "legal_days", 45),
    ("收费标准", "12.5元", "fee", Decimal("12.5")),
])
def test_cell_variants(tmp_path: Path, column: str, value: str, attr: str, expected: object) -> None:
    header, row = _rows()[:2]
    row[header.index(column)] = value
    (item,) = import_rows(_write_csv(tmp_path / "ok.csv", [header, row])).items
    assert (item.fee.amount if attr == "fee" else getattr(item, attr)) == expected
    out = tmp_path / "ok.yaml"
    write_catalog([item], out)
    assert CatalogFile.model_validate(yaml.safe_load(out.read_text(encoding="utf-8"))).items == [item]


def test_cli_writes_good_rows_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "imported.yaml"
    assert main(["import-catalog", str(SAMPLE), "--out", str(out)]) == 1
    assert "第5行" in capsys.readouterr().out
    assert len(CatalogFile.model_validate(yaml.safe_load(out.read_text(encoding="utf-8"))).items) == 4


def test_cli_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "imported.yaml"
    assert main([str(SAMPLE), "--out", str(out), "--dry-run"]) == 1
    assert not out.exists()


def test_cli_exit_0_when_all_good(tmp_path: Path) -> None:
    good = _write_csv(tmp_path / "good.csv", _rows()[:4])
    out = tmp_path / "imported.yaml"
    assert main([str(good), "--out", str(out)]) == 0
    assert out.exists()


def test_cli_nothing_accepted_writes_nothing(tmp_path: Path) -> None:
    rows = _rows()
    bad = _write_csv(tmp_path / "bad.csv", [rows[0], rows[4], rows[6]])
    out = tmp_path / "imported.yaml"
    assert main([str(bad), "--out", str(out)]) == 1
    assert not out.exists()


@pytest.mark.parametrize("name, content", [
    ("missing.csv", None), ("broken.xlsx", b"not a zip"), ("data.txt", b"x"), ("empty.csv", b""),
])
def test_cli_unreadable_file_exits_2(tmp_path: Path, name: str, content: bytes | None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "imported.yaml"
    assert main([str(path), "--out", str(out)]) == 2
    assert "错误" in capsys.readouterr().err and not out.exists()
