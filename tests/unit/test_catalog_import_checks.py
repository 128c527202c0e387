"""The importer's output passes the publish checks (bot/quality/): Chinese punctuation in citizen text, no short
name or alias under two items (imported, or of the catalog the import sits beside), labels that tell apart the
情形 and offices of one 事项编码; each change is a warning of its row, nothing is invented."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.catalog.import_phrases import Beside
from bot.catalog.importer import import_rows, main
from bot.catalog.models import ServiceItem
from bot.catalog.punctuation import chinese_punctuation
from bot.catalog.catalog import Target
from bot.content import target_entry
from bot.matching.lexicon import Lexicon
from bot.quality.checks import check_directory
from bot.quality.phrases import Phrase, duplicate_findings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "catalog_sample.csv"
HEADER = ["事项编码", "实施编码", "事项名称", "简称", "事项类型", "实施主体", "行使层级", "受理条件", "承诺时限",
          "法定时限", "办理形式", "办理地点", "别名", "子项名称"]


def _row(basic: str, code: str, name: str, short: str = "", aliases: str = "", *, department: str = "德令哈市某局",
         level: str = "市级", conditions: str = "本市居民", situation: str = "", online: str = "全程网办",
         location: str = "") -> list[str]:
    return [basic, code, name, short, "公共服务", department, level, conditions, "5个工作日", "10个工作日", online,
            location, aliases, situation]


def _import(tmp_path: Path, *rows: list[str], beside: Beside | None = None) -> tuple[list[ServiceItem], str]:
    path = tmp_path / "清单.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    report = import_rows(path, beside=beside)
    return report.items, "\n".join(report.warnings)


def _row_says(text: str, row: int, note: str) -> bool:
    """The warning of spreadsheet row `row` includes `note`."""
    return any(line.startswith(f"第{row}行：") and note in line for line in text.splitlines())


def test_an_alias_of_two_items_is_dropped_from_both_and_reported(tmp_path: Path) -> None:
    items, text = _import(tmp_path, _row("AA00000001", "AA00000001-1", "居住证申领", "", "办居住证\n外地人登记"),
                          _row("AA00000002", "AA00000002-1", "居住证签注", "", "办居住证\n居住证续期"),
                          _row("AA00000003", "AA00000003-1", "居住登记", "", "居住证签注"))
    first, second, third = items
    assert first.aliases == ["外地人登记"] and second.aliases == ["居住证续期"]
    assert third.aliases == []  # it is the other item's name: a citizen saying it means that item
    assert _row_says(text, 2, "[别名] 「办居住证」也是第3行事项的别名")
    assert _row_says(text, 3, "[别名] 「办居住证」也是第2行事项的别名")
    assert _row_says(text, 4, "[别名] 「居住证签注」也是第3行事项的名称")


def test_an_alias_equal_after_the_lexicon_is_a_clash_too(tmp_path: Path) -> None:
    """房子过户 and 房产过户 are one phrase to the matcher (synonyms.yaml): the check sees them as one."""
    items, _ = _import(tmp_path, _row("AA00000001", "AA00000001-1", "不动产转移登记", "", "房子过户"),
                       _row("AA00000002", "AA00000002-1", "房屋交易备案", "", "房产过户\n网签备案"))
    assert [i.aliases for i in items] == [[], ["网签备案"]]


def test_ascii_punctuation_becomes_chinese_and_each_column_is_reported(tmp_path: Path) -> None:
    items, text = _import(tmp_path, _row(
        "AA00000001", "AA00000001-1", "临时救助申请?", "救助", "无线电,频率,新申请",
        conditions='年满18周岁,家庭困难。。\n提交"申请书"\n上午08:30-12:00办理', online="到现场",
        location="服务大厅|德令哈市长江路1号|08:30-12:00|0977-8221234"))
    item = items[0]
    assert item.name == "临时救助申请？"
    assert item.aliases == ["无线电，频率，新申请"]
    assert item.conditions == ["年满18周岁，家庭困难。", "提交“申请书”", "上午08:30-12:00办理"]  # times stay
    assert (item.locations[0].hours, item.locations[0].phone) == ("08:30-12:00", "0977-8221234")
    assert item.code == "AA00000001-1" and item.department == "德令哈市某局"
    assert "[事项名称] 标点改为中文标点" in text and "[别名] 标点改为中文标点：“无线电,频率,新申请”→“无线电，频率，新申请”" in text
    assert "[受理条件] 标点改为中文标点" in text and "等 2 处" in text


def test_a_web_address_in_imported_text_stays_a_working_link() -> None:
    text = "咨询:请访问http://www.tyj.gd.gov.cn/content/4294436?action=new,或致电"
    assert chinese_punctuation(text) == "咨询：请访问http://www.tyj.gd.gov.cn/content/4294436?action=new，或致电"


def test_short_names_of_two_items_are_dropped_so_the_rest_stay_distinct(tmp_path: Path) -> None:
    items, text = _import(tmp_path, _row("AA00000001", "AA00000001-1", "海洋工程环境影响报告书审批", "海洋环评审批"),
                          _row("AA00000002", "AA00000002-1", "海洋工程环境影响报告表审批", "海洋环评审批"),
                          _row("AA00000003", "AA00000003-1", "海域使用权登记", "海域登记"),
                          _row("AA00000004", "AA00000004-1", "渔船登记", "渔船登记"))
    assert [i.short_name for i in items] == [None, None, "海域登记", None]
    assert _row_says(text, 2, "[简称] 「海洋环评审批」也是第3行事项的简称")
    assert _row_says(text, 5, "[简称] 「渔船登记」与事项名称相同，已删去")


def test_one_code_with_two_situations_and_two_offices_is_told_apart(tmp_path: Path) -> None:
    """One 事项编码: two 情形 sharing the export's aliases, and each 情形 at a province and a city office."""
    rows = [_row("AA00000001", f"AA00000001-{n}", f"律师执业许可({situation})", "律师执业", "办律师证",
                 situation=situation, department=department, level=level)
            for n, (situation, department, level) in enumerate([
                ("申请专职执业", "广东省司法厅", "省级"), ("申请专职执业", "广州市司法局", "市级"),
                ("申请兼职执业", "广东省司法厅", "省级"), ("申请兼职执业", "广州市司法局", "市级")], start=1)]
    items, text = _import(tmp_path, *rows)
    assert len(items) == 4 and {i.basic_code for i in items} == {"AA00000001"}
    assert [i.situation for i in items] == ["申请专职执业", "申请专职执业", "申请兼职执业", "申请兼职执业"]
    assert all(i.short_name is None and i.aliases == [] for i in items)
    assert text.count("「办律师证」也是") == 4
    details = [target_entry(Target(i.code, i.name, (i,)), []).detail for i in items]
    assert details == ["广东省司法厅，省级", "广州市司法局，市级", "广东省司法厅，省级", "广州市司法局，市级"]
    named_apart = _row("AA00000002", "AA00000002-1", "律师执业证书注销", situation="调往外省")
    assert target_entry(Target("x", "律师执业证书注销", (_import(tmp_path, named_apart)[0][0],)), []).detail == "调往外省"


def test_one_service_at_two_offices_keeps_its_aliases_and_the_check_only_warns(tmp_path: Path) -> None:
    """The bot asks which office (the clarify labels say it), so a phrase they share is not a wrong item."""
    rows = [_row("AA00000001", f"AA00000001-{n}", "无线电频率使用许可", "", "频率新申请", department=department)
            for n, department in enumerate(["广东省工业和信息化厅", "广州市工业和信息化局"], start=1)]
    items, text = _import(tmp_path, *rows)
    assert [i.aliases for i in items] == [["频率新申请"], ["频率新申请"]] and "频率新申请" not in text
    items, text = _import(tmp_path, *rows, _row("AA00000002", "AA00000002-1", "无线电台执照核发", "", "频率新申请"))
    assert [i.aliases for i in items] == [[], [], []]  # another service has it too: it says nothing for sure
    assert _row_says(text, 4, "[别名] 「频率新申请」也是第2行、第3行事项的别名")
    lexicon = Lexicon.load(ROOT / "intents" / "dictionaries" / "synonyms.yaml")
    same = [Phrase(f"AA00000001-{n}", "无线电频率使用许可", "alias", "频率新申请", f"catalog/x.yaml:{n}") for n in (1, 2)]
    other = Phrase("AA00000002-1", "无线电台执照核发", "alias", "频率新申请", "catalog/x.yaml:3")
    assert [f.severity for f in duplicate_findings([*same, other], lexicon)] == ["warning", "error"]


def test_an_on_site_item_without_a_window_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "清单.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, _row("AA00000001", "AA00000001-1", "永久减容", online="到现场",
                                              location="无线下办理窗口")])
    report = import_rows(path)
    assert not report.items and report.rejected[0].column == "办理形式、办理地点"
    assert "没有可去的办理地点" in report.rejected[0].reason


def test_a_clash_with_the_catalog_beside_is_dropped_from_the_imported_item(tmp_path: Path) -> None:
    beside = Beside.load(ROOT / "intents")
    items, text = _import(tmp_path, _row("AA00000001", "AA00000001-1", "城乡低保申请", "低保申请", "吃低保\n低保金"),
                          beside=beside)
    assert items[0].short_name is None and items[0].aliases == ["低保金"]
    assert "「吃低保」也是现有事项「最低生活保障审核确认」的别名，已从本事项删去" in text
    path = tmp_path / "名称.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, _row("AA00000002", "AA00000002-1", "吃低保")])
    rejected = import_rows(path, beside=beside).rejected
    assert rejected[0].column == "事项名称" and "已是现有事项「最低生活保障审核确认」的别名" in rejected[0].reason


@pytest.mark.slow
def test_the_sample_imported_over_the_seed_passes_the_checks(tmp_path: Path) -> None:
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder)
    assert main([str(SAMPLE), "--out", str(folder / "catalog" / "imported.yaml")]) == 1  # rows 5 and 7 rejected
    errors = [f for f in check_directory(folder) if f.severity == "error"]
    assert errors == []
    catalog = Catalog.load(folder / "catalog")
    assert len(catalog.items) == len(Catalog.load(ROOT / "intents" / "catalog").items) + 4
