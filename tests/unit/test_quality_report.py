"""`python -m bot report` (bot/quality/report.py) on a handful of labelled utterances: accuracy, per-item recall
and precision, confused pairs, none and clarify rates, what changed against another content folder."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from bot.__main__ import main
from bot.content import Content, load_content
from bot.quality.report import CLARIFY, NONE, Labelled, build_report, confusion_svg, labelled_sets
from tests.chat import ROOT

ROWS = [Labelled("身份证过期了", "居民身份证换领", source="utterances.yaml"),
        Labelled("身份证丢了", "居民身份证换领", source="utterances.yaml"),   # wrong: it is 补领
        Labelled("今天天气怎么样", NONE, source="utterances.yaml"),
        Labelled("身份证", CLARIFY, source="utterances.yaml"),
        Labelled("办个火箭发射许可", "火箭发射许可", source="utterances.yaml")]  # not in this catalog: skipped


def test_accuracy_recall_precision_and_confused_pairs(content: Content) -> None:
    report = build_report(content, ROWS).to_json()
    assert (report["rows"], report["accuracy"], report["none_rate"], report["clarify_rate"], report["skipped"]) == (
        4, 0.75, 0.25, 0.25, 1)
    items = {i["item"]: i for i in report["items"]}
    assert items["居民身份证换领"] == {"item": "居民身份证换领", "expected": 2, "predicted": 1, "recall": 0.5,
                                "precision": 1.0}
    assert items["居民身份证补领"]["precision"] == 0.0
    assert report["confused"] == [{"expected": "居民身份证换领", "got": "居民身份证补领", "count": 1}]
    assert report["changed"] == []
    svg = confusion_svg(build_report(content, ROWS))
    assert svg.startswith("<svg") and "<title>居民身份证换领 → 居民身份证补领: 1</title>" in svg


def test_utterances_answered_differently_from_another_folder_are_listed(tmp_path: Path, content: Content) -> None:
    live = tmp_path / "live"
    shutil.copytree(ROOT / "intents", live)
    gongan = live / "catalog" / "gongan.yaml"
    gongan.write_text(gongan.read_text(encoding="utf-8").replace("name: 居民身份证补领", "name: 身份证补办"),
                      encoding="utf-8")
    report = build_report(content, ROWS, against=load_content(live, logging.getLogger("tests")))
    assert {"text": "身份证丢了", "before": "身份证补办", "after": "居民身份证补领"} in report.changed
    assert all(c["text"] != "身份证过期了" for c in report.changed)


def test_both_labelled_sets_are_read(tmp_path: Path) -> None:
    data = tmp_path / "utterances.tsv"
    data.write_text("text\texpected\tsplit\n身份证过期了\t居民身份证换领\ttune\n天气\tNONE\ttune\n"
                    "身份证\tCLARIFY:居民身份证换领|居民身份证补领\tholdout\n", encoding="utf-8")
    rows = labelled_sets(ROOT / "intents", data)
    assert rows[:3] == [Labelled("身份证过期了", "居民身份证换领", source="utterances.tsv"),
                        Labelled("天气", NONE, source="utterances.tsv"),
                        Labelled("身份证", CLARIFY, ("居民身份证换领", "居民身份证补领"), "utterances.tsv")]
    assert Labelled("今天天气怎么样", NONE, source="utterances.yaml") in rows[3:]


def test_report_prints_json_for_the_studio_page(tmp_path: Path, capsys) -> None:
    data = tmp_path / "utterances.tsv"
    data.write_text("text\texpected\tsplit\n身份证过期了\t居民身份证换领\ttune\n", encoding="utf-8")
    assert main(["report", "--dir", str(ROOT / "intents"), "--data", str(data), "--json",
                 "--svg", str(tmp_path / "chart.svg")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] > 1 and set(report) >= {"accuracy", "items", "confused", "none_rate", "clarify_rate"}
    assert (tmp_path / "chart.svg").read_text(encoding="utf-8").startswith("<svg")
