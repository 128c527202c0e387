"""The 对比报告 of a draft: the matching report (bot/quality/report.py) of a version on the labelled utterances
(the TSV and the version's own tests/utterances.yaml), beside the live version's: accuracy, none and clarify rates,
recall and precision of the items that changed, the most confused pairs, the utterances answered differently and
the confusion chart."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bot.content import Content
from bot.quality.golden import TESTS, UTTERANCES
from bot.quality.report import Report, build_report, confusion_svg, labelled_sets
from bot.studio.versions import Files

_SUMMARY = ("rows", "accuracy", "none_rate", "clarify_rate", "skipped")


def compare(draft: Content, files: Files, live: Content, labelled: Path | None) -> dict[str, Any]:
    """The draft's report against the live content (blocking: run it in a worker thread)."""
    with tempfile.TemporaryDirectory(prefix="studio-report-") as folder:  # labelled_sets reads a folder
        own = files.get(f"{TESTS}/{UTTERANCES}")
        if own is not None:
            (Path(folder) / TESTS).mkdir()
            (Path(folder) / TESTS / UTTERANCES).write_text(own, encoding="utf-8")
        rows = labelled_sets(Path(folder), labelled)
    after, before = build_report(draft, rows, against=live), build_report(live, rows)
    now, then = after.to_json(), before.to_json()
    return {"draft": {k: now[k] for k in _SUMMARY}, "live": {k: then[k] for k in _SUMMARY},
            "items": _changed_items(after, before), "confused": now["confused"], "changed": now["changed"],
            "chart": confusion_svg(after)}


def _changed_items(after: Report, before: Report) -> list[dict[str, Any]]:
    """Recall and precision of each item whose figures differ between the two reports."""
    old = {row["item"]: row for row in before.per_item()}
    empty = {"recall": 0.0, "precision": 0.0, "expected": 0, "predicted": 0}
    return [{**row, "live_recall": was["recall"], "live_precision": was["precision"]}
            for row in after.per_item() if (was := old.get(row["item"], empty)) != row]
