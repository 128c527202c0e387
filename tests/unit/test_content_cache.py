"""The content build cache (bot/content_cache.py): a build that reads it matches exactly like a fresh build, and a
damaged, foreign or outdated cache file is rebuilt, never trusted."""
from __future__ import annotations

import csv
import logging
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import bot.matching.lexical as lexical
from bot.content import Content, load_content
from bot.content_cache import DiskCache, cache_key
from tests.shared_data import shared_data

ROOT = Path(__file__).resolve().parents[2]
LOG = logging.getLogger("tests")


def utterances(limit: int | None = None) -> list[str]:
    with (ROOT / "tests" / "data" / "utterances.tsv").open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle, delimiter="\t")][:limit]


def answers(content: Content, texts: list[str]) -> list[tuple[str, list[tuple[str, float]]]]:
    """Decision and ranked candidates with scores (the explanation words' order is not part of a result)."""
    results = [content.matcher.match(text) for text in texts]
    return [(r.decision.value, [(c.key, c.score) for c in r.candidates]) for r in results]


@pytest.fixture
def intents(tmp_path: Path) -> Path:
    target = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", target)
    return target


def no_term_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> set[str]:
        raise AssertionError("terms extracted although the cache has them")
    monkeypatch.setattr(lexical, "terms", fail)


def test_a_cached_build_matches_exactly_like_a_fresh_one_and_extracts_no_terms(
        content: Content, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DiskCache(tmp_path / "cache")
    load_content(ROOT / "intents", LOG, cache=cache)   # fills the cache
    no_term_extraction(monkeypatch)
    cached = load_content(ROOT / "intents", LOG, cache=cache)
    texts = utterances()
    assert answers(cached, texts) == answers(content, texts)
    assert cached.catalog.items == content.catalog.items


@pytest.mark.parametrize("damage", [b"", b"not a zip", b"PK\x03\x04 half a file"])
def test_damaged_cache_files_are_rebuilt_not_trusted(content: Content, tmp_path: Path, damage: bytes) -> None:
    cache = DiskCache(tmp_path / "cache")
    load_content(ROOT / "intents", LOG, cache=cache)
    files = sorted((tmp_path / "cache").iterdir())
    for path in files:
        path.write_bytes(damage)
    rebuilt = load_content(ROOT / "intents", LOG, cache=cache)
    texts = utterances(300)
    assert answers(rebuilt, texts) == answers(content, texts)
    assert all(path.stat().st_size > len(damage) for path in files)   # written again, whole


def test_a_file_holding_another_key_is_not_trusted(content: Content, tmp_path: Path) -> None:
    """A term file renamed over another (or one from another content) has the wrong key inside: rebuilt."""
    cache = DiskCache(tmp_path / "cache")
    load_content(ROOT / "intents", LOG, cache=cache)
    runs = sorted((tmp_path / "cache").glob("terms-*.npz"))
    assert len(runs) > 2
    for path, other in zip(runs, runs[1:] + runs[:1]):
        shutil.copyfile(other, path.with_suffix(".swap"))
    for path in runs:
        path.with_suffix(".swap").replace(path)
    rebuilt = load_content(ROOT / "intents", LOG, cache=cache)
    texts = utterances(300)
    assert answers(rebuilt, texts) == answers(content, texts)


def test_cache_files_of_an_older_format_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DiskCache(tmp_path)
    cache.put_bytes("yaml", cache_key("x"), b"{}")
    assert cache.get_bytes("yaml", cache_key("x")) == b"{}"
    monkeypatch.setattr("bot.content_cache.FORMAT", "older")
    assert cache.get_bytes("yaml", cache_key("x")) is None


def test_an_edited_catalog_file_is_parsed_again(intents: Path, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    before = load_content(intents, LOG, cache=cache)
    path = intents / "catalog" / "gongan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("居民身份证换领", "居民身份证到期换领"), encoding="utf-8")
    after = load_content(intents, LOG, cache=cache)
    assert before.catalog.items["GA0020000"].name == "居民身份证换领"
    assert after.catalog.items["GA0020000"].name == "居民身份证到期换领"
    assert after.matcher.match("居民身份证到期换领").candidates[0].key == "GA0020000"


def test_a_changed_lexicon_gives_the_terms_a_fresh_build_gives(intents: Path, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    load_content(intents, LOG, cache=cache)
    synonyms = intents / "dictionaries" / "synonyms.yaml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8").replace("fillers:", "fillers:\n  - 身份", 1),
                        encoding="utf-8")
    fresh = load_content(intents, LOG)
    cached = load_content(intents, LOG, cache=cache)
    texts = utterances()
    assert answers(cached, texts) == answers(fresh, texts)


def test_a_new_alias_re_extracts_one_run_of_phrases(intents: Path, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    load_content(intents, LOG, cache=cache)
    runs = set((tmp_path / "cache").glob("terms-*.npz"))
    path = intents / "catalog" / "gongan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      - 身份证过期\n", "      - 身份证过期\n      - 身份证下个月就过期了\n", 1),
                    encoding="utf-8")
    content = load_content(intents, LOG, cache=cache)
    assert len(set((tmp_path / "cache").glob("terms-*.npz")) - runs) == 1
    assert content.matcher.match("身份证下个月就过期了").candidates[0].key == "GA0020000"


def test_two_builds_at_once_share_the_cache(content: Content, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "cache")
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: load_content(ROOT / "intents", LOG, cache=cache), range(2)))
    texts = utterances(300)
    assert answers(built[0], texts) == answers(built[1], texts) == answers(content, texts)
    assert not list((tmp_path / "cache").glob(".*.tmp"))


@pytest.mark.slow
def test_the_real_catalog_cached_matches_like_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = shared_data("real-catalog/guangdong-raw.csv")
    intents = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", intents)
    imported = subprocess.run([sys.executable, "-m", "bot", "import-catalog", str(export), "--out",
                               str(intents / "catalog" / "imported.yaml")], cwd=ROOT, capture_output=True, text=True)
    assert imported.returncode in (0, 1), imported.stderr  # 1: some rows rejected, the others written
    assert (intents / "catalog" / "imported.yaml").exists(), imported.stderr
    cache = DiskCache(tmp_path / "cache")
    fresh = load_content(intents, LOG, cache=cache)
    no_term_extraction(monkeypatch)
    cached = load_content(intents, LOG, cache=cache)
    names = [item.name for item in list(fresh.catalog.items.values())[::20]]
    texts = utterances(300) + names + [f"请问{name}需要什么材料" for name in names]
    assert answers(cached, texts) == answers(fresh, texts)


def test_versions_with_the_same_words_share_one_jieba_dictionary(intents: Path, tmp_path: Path) -> None:
    """A publish that adds an alias keeps one copy of jieba's dictionary (~15 MiB) for both loaded versions; a new
    item name is a new word, so that version gets its own, which knows it."""
    cache = DiskCache(tmp_path / "cache")
    before = load_content(intents, LOG, cache=cache)
    path = intents / "catalog" / "gongan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      - 身份证过期\n", "      - 身份证下个月就过期了\n      - 身份证过期\n", 1),
                    encoding="utf-8")
    alias = load_content(intents, LOG, cache=cache)
    path.write_text(text.replace("name: 居民身份证换领", "name: 居民证换领", 1), encoding="utf-8")
    renamed = load_content(intents, LOG, cache=cache)
    assert alias.matcher.lexicon.tokenizer is before.matcher.lexicon.tokenizer
    assert renamed.matcher.lexicon.tokenizer is not before.matcher.lexicon.tokenizer
    assert "居民证换领" in renamed.matcher.lexicon.words("办居民证换领")
    assert "居民证换领" not in before.matcher.lexicon.words("办居民证换领")


def test_versions_built_from_the_same_file_share_its_items(intents: Path, tmp_path: Path) -> None:
    """Two loaded versions that differ by one alias hold one copy of every other file's items."""
    cache = DiskCache(tmp_path / "cache")
    before = load_content(intents, LOG, cache=cache)
    path = intents / "catalog" / "gongan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - 身份证过期\n",
                                                              "      - 身份证下个月就过期了\n      - 身份证过期\n", 1),
                    encoding="utf-8")
    after = load_content(intents, LOG, cache=cache)
    other = next(code for code in before.catalog.items if code.startswith("RS"))
    assert after.catalog.items[other] is before.catalog.items[other]
    assert after.catalog.items["GA0020000"] is not before.catalog.items["GA0020000"]
    assert "身份证下个月就过期了" in after.catalog.items["GA0020000"].aliases
    assert "身份证下个月就过期了" not in before.catalog.items["GA0020000"].aliases
