"""Everything the product team edits under intents/, loaded and cross-checked as one unit."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.catalog import Catalog
from bot.catalog.catalog import Target
from bot.dialogue.answers import QuestionWords
from bot.dialogue.commands import Command
from bot.dialogue.dates import DateWords
from bot.dialogue.phrases import Phrases
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import CardReply, Reply, reply_json
from bot.dialogue.script import ScriptBook
from bot.catalog.models import LEVEL_LABELS
from bot.content_cache import DiskCache
from bot.matching import Entry, Matcher
from bot.matching.dense import Embedder
from bot.matching.lexicon import Lexicon, load_user_words
from bot.matching.matcher import RECENT_RESULTS
from bot.matching.out_of_scope import load_out_of_scope
from bot.workdays import WorkdayCalendar, load_holiday_files


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    scripts: ScriptBook
    prompts: Prompts
    words: QuestionWords
    matcher: Matcher
    calendar: WorkdayCalendar
    phrases: Phrases
    dates: DateWords
    version: str = ""  # the content version's id (bot/studio/versions.py); empty when loaded from a bare folder
    # The card of an item depends only on this content: built once per target key, never changed after, and
    # serialised once: card_json maps id(card) to (card, its JSON) for response_json.
    cards: dict[str, CardReply] = field(default_factory=dict, repr=False, compare=False)
    card_json: dict[int, tuple[Reply, bytes]] = field(default_factory=dict, repr=False, compare=False)

    def meaning(self, text: str) -> frozenset[Command]:
        """The commands a typed message stands for: exactly one of the command words (questions.yaml), else an
        everyday sentence that means one (phrases.yaml: "不办了，取消", "没有结婚证，跳过吧")."""
        return self.words.meaning(text) or self.phrases.meaning(text)

    def card(self, key: str, build: Callable[[], CardReply]) -> CardReply:
        """The card of the item or bundle `key`, built by `build` the first time it is asked for."""
        if (card := self.cards.get(key)) is None:
            card = self.cards[key] = build()
            self.card_json[id(card)] = (card, reply_json(card))
        return card


def target_entry(target: Target, synonyms: list[str]) -> Entry:
    """What the matcher knows of an item or bundle: short name, aliases, situations and script synonyms as
    phrases; conditions for the embedding model; 情形 (unless the name already says it), else office and level, to
    tell same-named items apart."""
    phrases: list[str] = []
    conditions: list[str] = []
    for source in ([target.bundle] if target.bundle else list(target.items)):
        if short_name := getattr(source, "short_name", None):
            phrases.append(short_name)
        phrases.extend(source.aliases)
        phrases.extend(source.situations)
        conditions.extend(getattr(source, "conditions", []))
    first = target.items[0]
    situation = first.situation if first.situation and first.situation not in first.name else None
    detail = "" if target.bundle else situation or f"{first.department}，{LEVEL_LABELS[first.level]}"
    return Entry(target.key, target.name, tuple(phrases + synonyms), tuple(conditions), detail)


def matcher_entries(catalog: Catalog, scripts: ScriptBook) -> list[Entry]:
    """Every item and bundle of the catalog, as the matcher knows them."""
    return [target_entry(target, scripts.synonyms(target.key)) for target in catalog.targets()]


def content_phrases(content: Content) -> list[str]:
    """Every phrase the lexicon normalises: the catalog's names, aliases and situations, the command words and
    the everyday phrases (for the check that no synonym rewrites inside another word)."""
    phrases = [p for entry in matcher_entries(content.catalog, content.scripts) for p in (entry.name, *entry.phrases)]
    phrases += [w for words in content.words.commands.values() for w in words]
    phrases += [w for lists in content.phrases.commands.values() for w in (*lists.said, *lists.within)]
    return phrases


def build_matcher(catalog: Catalog, scripts: ScriptBook, directory: Path, embedder: Embedder | None = None,
                  recent_results: int = RECENT_RESULTS, cache: DiskCache | None = None) -> Matcher:
    """Index every item and bundle (and the out-of-scope examples) from the content under `directory` (the
    phrases' terms kept in `cache`)."""
    entries = matcher_entries(catalog, scripts)
    words = directory / "dictionaries"
    user_words = load_user_words(words / "user_words.txt") + [e.name for e in entries]
    lexicon = Lexicon.load(words / "synonyms.yaml", user_words, cache)
    return Matcher(lexicon, entries, load_out_of_scope(words / "out_of_scope.yaml"), embedder,
                   recent_results=recent_results, cache=cache)


def load_content(directory: Path, log: logging.Logger, embedder: Embedder | None = None,
                 cache: DiskCache | None = None) -> Content:
    """Load catalog, scripts, prompts, dictionaries and the holiday calendar; raises ContentInvalid.

    With an embedder, the matcher scores passages densely too (bot/matching/dense.py). With a cache, what was
    derived from the same files before (parsed catalog files, the matcher's terms) is read, not computed again.
    """
    started = time.monotonic()
    log.info("loading content from %s", directory)
    catalog = Catalog.load(directory / "catalog", cache)
    log.info("catalog: %d items, %d bundles", len(catalog.items), len(catalog.bundles))
    scripts = ScriptBook.load(directory / "scripts", catalog, log)
    prompts = Prompts.load(directory / "scripts" / "prompts.yaml")
    words = QuestionWords.load(directory / "dictionaries" / "questions.yaml")
    phrases = Phrases.load(directory / "dictionaries" / "phrases.yaml")
    dates = DateWords.load(directory / "dictionaries" / "dates.yaml")
    matcher = build_matcher(catalog, scripts, directory, embedder, cache=cache)
    log.info("scripts: %d; matcher indexed (%.1f s so far)", len(scripts.scripts), time.monotonic() - started)
    calendar = WorkdayCalendar(load_holiday_files(directory / "calendar"), log)
    log.info("content loaded in %.1f s", time.monotonic() - started)
    return Content(catalog, scripts, prompts, words, matcher, calendar, phrases, dates)
