"""How long the studio's check-as-you-type (POST /api/v1/studio/validate) takes on the sample catalog, beside what
saving a draft cost before (the publish gate: the same checks plus the golden tests), in the same run.

    .venv/bin/python -m bench.bench_validate [--rounds 5]

Each round adds a new alias to 居住证申领 (a cold check: the files differ from every earlier round), then sends the
same edit again (answered from the kept findings). Prints wall and CPU milliseconds (median of the rounds), the split
of a cold check between loading the content and running the checks, and the load average."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.content import load_content
from bot.quality.checks import check_content
from bot.studio.forms import apply_item, item_form
from bot.studio.gate import publish_gate
from bot.studio.validation import Validator
from bot.studio.versions import materialise, read_directory

ROOT = Path(__file__).resolve().parents[1]
ITEM = "GA0050000"
T = TypeVar("T")


def _timed(run: Callable[[], T]) -> tuple[T, tuple[float, float]]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    logging.basicConfig(level=logging.WARNING)
    files = read_directory(ROOT / "intents")
    aliases = item_form(files, ITEM)["aliases"]
    validator = Validator()
    load_content(ROOT / "intents", logging.getLogger("bench"))  # jieba's dictionary, once, outside the figures
    figures: dict[str, list[tuple[float, float]]] = {"validate, new edit": [], "validate, same edit again": [],
                                                      "publish gate (the save's check before)": [],
                                                      "  of which: load content": [], "  of which: checks": []}
    with tempfile.TemporaryDirectory() as cache:
        for i in range(rounds):
            edits = apply_item(files, ITEM, {"aliases": [*aliases, f"星光卡第{i}种办法"]})
            for name in ("validate, new edit", "validate, same edit again"):
                figures[name].append(_timed(lambda: asyncio.run(validator.validate(files, edits, ITEM, False)))[1])
            folder = materialise({**files, **edits}, Path(cache))
            figures["publish gate (the save's check before)"].append(_timed(lambda: publish_gate(folder))[1])
            content, took = _timed(lambda: load_content(folder, logging.getLogger("bench")))
            figures["  of which: load content"].append(took)
            figures["  of which: checks"].append(_timed(lambda: check_content(folder, content))[1])
    print(f"sample catalog ({len(files)} files), {rounds} rounds, median wall / CPU ms")
    for name, runs in figures.items():
        print(f"  {name:42s} {statistics.median(w for w, _ in runs):8.1f} {statistics.median(c for _, c in runs):8.1f}")
    print("load average:", " ".join(os.getloadavg().__repr__().strip("()").split(", ")))


if __name__ == "__main__":
    main()
