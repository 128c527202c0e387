"""How well the content's matcher answers the labelled utterances: accuracy, per-item recall and precision, the
most confused pairs, none and clarify rates, and, against another content folder (the live version), which
utterances now get another answer. `python -m bot report`, and JSON for the studio page."""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import Content
from bot.content_errors import ContentInvalid, load_model
from bot.matching.evaluate import judge, load_rows
from bot.matching.matcher import Decision, MatchResult
from bot.quality.golden import TESTS, UTTERANCES, UtteranceFile, utterance_verdict

NONE, CLARIFY = "none", "clarify"


@dataclass(frozen=True)
class Labelled:
    """One utterance and what the bot should do: an item name, none, or clarify (the names it may offer)."""

    text: str
    expected: str          # an item or bundle name, NONE or CLARIFY
    options: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def from_tsv(cls, row: dict[str, str], source: str) -> "Labelled":
        label = row["expected"].strip()
        if label == "NONE":
            return cls(row["text"], NONE, source=source)
        if label.startswith("CLARIFY:"):
            return cls(row["text"], CLARIFY, tuple(label.removeprefix("CLARIFY:").split("|")), source)
        return cls(row["text"], label, source=source)

    def right(self, result: MatchResult) -> bool:
        """A clarify with options (the TSV's) is also right as a match on any of them, or asking back with the
        first two; otherwise as in the golden utterances."""
        if self.expected == CLARIFY and self.options:
            return judge("CLARIFY:" + "|".join(self.options), result)
        return not utterance_verdict(self.expected, result)


def answer_of(result: MatchResult) -> str:
    """What the citizen gets, in one word: the item found, none, or clarify with the choices."""
    if result.decision is Decision.match:
        return result.candidates[0].name
    if result.decision is Decision.clarify:
        return f"{CLARIFY}: {'、'.join(c.name for c in result.candidates)}"
    return NONE


def labelled_sets(directory: Path, data: Path | None) -> list[Labelled]:
    """The rows of the labelled TSV (tests/data/utterances.tsv) and of directory/tests/utterances.yaml."""
    rows = [Labelled.from_tsv(row, data.name) for row in load_rows(data)] if data and data.exists() else []
    path = directory / TESTS / UTTERANCES
    if path.exists():
        try:
            listed = load_model(path, UtteranceFile, directory)
        except ContentInvalid:
            listed = None  # `python -m bot test` reports it
        if listed:
            rows += [Labelled(text, expected, source=UTTERANCES) for text, expected in listed.utterances.items()]
    return rows


@dataclass
class Report:
    rows: int = 0
    correct: int = 0
    decided: Counter[str] = field(default_factory=Counter)  # match / none / clarify
    expected: Counter[str] = field(default_factory=Counter)  # item name -> rows expecting it
    predicted: Counter[str] = field(default_factory=Counter)  # item name -> rows matched to it
    hits: Counter[str] = field(default_factory=Counter)      # item name -> rows rightly matched to it
    confused: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected item, what it got)
    changed: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0  # rows naming an item this content does not have

    def per_item(self) -> list[dict[str, Any]]:
        items = sorted(set(self.expected) | set(self.predicted))
        return [{"item": item, "expected": self.expected[item], "predicted": self.predicted[item],
                 "recall": _share(self.hits[item], self.expected[item]),
                 "precision": _share(self.hits[item], self.predicted[item])} for item in items]

    def to_json(self, top: int = 10) -> dict[str, Any]:
        return {"rows": self.rows, "accuracy": _share(self.correct, self.rows),
                "none_rate": _share(self.decided[NONE], self.rows),
                "clarify_rate": _share(self.decided[CLARIFY], self.rows), "skipped": self.skipped,
                "items": self.per_item(),
                "confused": [{"expected": a, "got": b, "count": n} for (a, b), n in self.confused.most_common(top)],
                "changed": self.changed}

    def text(self, top: int = 10) -> str:
        """The report as the terminal shows it."""
        data = self.to_json(top)
        lines = [f"rows {data['rows']}  accuracy {data['accuracy']:.1%}  none rate {data['none_rate']:.1%}  "
                 f"clarify rate {data['clarify_rate']:.1%}" + (f"  skipped {self.skipped}" if self.skipped else ""),
                 "", f"{'recall':>7} {'precision':>9} {'rows':>5}  item"]
        lines += [f"{i['recall']:7.0%} {i['precision']:9.0%} {i['expected']:5}  {i['item']}" for i in data["items"]]
        lines += ["", "most confused (expected -> got):"]
        lines += [f"{c['count']:5}  {c['expected']} -> {c['got']}" for c in data["confused"]] or ["    none"]
        if self.changed:
            lines += ["", f"{len(self.changed)} utterances now get another answer:"]
            lines += [f"  {c['text']}: {c['before']} -> {c['after']}" for c in self.changed]
        return "\n".join(lines)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def build_report(content: Content, rows: list[Labelled], against: Content | None = None) -> Report:
    """Judge `content` on the rows; with `against` (e.g. the live version), list the rows answered differently."""
    names = {t.name for t in content.catalog.targets()}
    report = Report()
    for row in rows:
        if any(name not in names for name in (row.options if row.expected == CLARIFY else (row.expected,))
               if name not in (NONE, CLARIFY)):
            report.skipped += 1
            continue
        result = content.matcher.match(row.text)
        got = answer_of(result)
        report.rows += 1
        report.correct += row.right(result)
        report.decided[result.decision.value] += 1
        top = result.candidates[0].name if result.decision is Decision.match else None
        if top:
            report.predicted[top] += 1
        if row.expected not in (NONE, CLARIFY):
            report.expected[row.expected] += 1
            if top == row.expected:
                report.hits[top] += 1
            else:
                report.confused[(row.expected, top or result.decision.value)] += 1
        if against is not None and (before := answer_of(against.matcher.match(row.text))) != got:
            report.changed.append({"text": row.text, "before": before, "after": got})
    return report


def confusion_svg(report: Report, top: int = 12) -> str:
    """A heatmap of the most confused items (rows: expected, columns: what they got), as a small SVG."""
    pairs = report.confused.most_common(top)
    rows = sorted({a for (a, _), _ in pairs})
    cols = sorted({b for (_, b), _ in pairs})
    cell, left, head = 28, 220, 160
    peak = max((n for _, n in pairs), default=1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + cell * len(cols) + 10}" '
             f'height="{head + cell * len(rows) + 10}" font-family="sans-serif" font-size="12">']
    for j, col in enumerate(cols):
        x = left + j * cell + cell // 2
        parts.append(f'<text transform="translate({x},{head - 6}) rotate(-60)">{html.escape(col)}</text>')
    for i, row in enumerate(rows):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell * 0.65:.0f}" text-anchor="end">{html.escape(row)}</text>')
        for j, col in enumerate(cols):
            count = report.confused.get((row, col), 0)
            shade = 255 - int(200 * count / peak)
            parts.append(f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="rgb(255,{shade},{shade})"><title>{html.escape(row)} → {html.escape(col)}: '
                         f'{count}</title></rect>')
            if count:
                parts.append(f'<text x="{left + j * cell + cell // 2 - 1}" y="{y + cell * 0.65:.0f}" '
                             f'text-anchor="middle">{count}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
