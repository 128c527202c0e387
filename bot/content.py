"""Everything the product team edits under intents/, loaded and cross-checked as one unit."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.catalog import Catalog
from bot.dialogue.answers import QuestionWords
from bot.dialogue.commands import Command
from bot.dialogue.dates import DateWords
from bot.dialogue.phrases import Phrases
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import CardReply, Reply, reply_json
from bot.dialogue.script import ScriptBook
from bot.matching import Matcher
from bot.matching.matcher import RECENT_RESULTS
from bot.matching.lexicon import Lexicon, load_user_words
from bot.matching.semantic import Embedder, SemanticTieBreaker
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
    tiebreaker: SemanticTieBreaker | None = None
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


def matcher_targets(catalog: Catalog, scripts: ScriptBook) -> list[tuple[str, str, list[str]]]:
    """(key, name, phrases) of every item and bundle: short name, aliases and script synonyms."""
    targets = []
    for target in catalog.targets():
        phrases: list[str] = []
        for source in ([target.bundle] if target.bundle else list(target.items)):
            phrases.extend(source.aliases)
            if short_name := getattr(source, "short_name", None):
                phrases.append(short_name)
        phrases.extend(scripts.synonyms(target.key))
        targets.append((target.key, target.name, phrases))
    return targets


def build_matcher(catalog: Catalog, scripts: ScriptBook, lexicon: Lexicon, user_words: list[str],
                  recent_results: int = RECENT_RESULTS) -> Matcher:
    """Index every item and bundle by name, short name, aliases and script synonyms."""
    targets = matcher_targets(catalog, scripts)
    return Matcher(lexicon, targets, user_words + [name for _, name, _ in targets], recent_results=recent_results)


def load_content(directory: Path, log: logging.Logger, embedder: Embedder | None = None) -> Content:
    """Load catalog, scripts, prompts, dictionaries and the holiday calendar; raises ContentInvalid.

    With an embedder, clarify decisions get a semantic tie-breaker (bot/matching/semantic.py).
    """
    started = time.monotonic()
    log.info("loading content from %s", directory)
    catalog = Catalog.load(directory / "catalog")
    log.info("catalog: %d items, %d bundles", len(catalog.items), len(catalog.bundles))
    scripts = ScriptBook.load(directory / "scripts", catalog, log)
    prompts = Prompts.load(directory / "scripts" / "prompts.yaml")
    words = QuestionWords.load(directory / "dictionaries" / "questions.yaml")
    phrases = Phrases.load(directory / "dictionaries" / "phrases.yaml")
    dates = DateWords.load(directory / "dictionaries" / "dates.yaml")
    lexicon = Lexicon.load(directory / "dictionaries" / "synonyms.yaml")
    matcher = build_matcher(catalog, scripts, lexicon, load_user_words(directory / "dictionaries" / "user_words.txt"))
    log.info("scripts: %d; matcher indexed (%.1f s so far)", len(scripts.scripts), time.monotonic() - started)
    calendar = WorkdayCalendar(load_holiday_files(directory / "calendar"), log)
    tiebreaker = None
    if embedder:
        targets = matcher_targets(catalog, scripts)
        log.info("semantic tie-breaker: %d passages to embed (cached ones are read back)", len(targets))
        tiebreaker = SemanticTieBreaker(embedder, targets)
    log.info("content loaded in %.1f s", time.monotonic() - started)
    return Content(catalog, scripts, prompts, words, matcher, calendar, phrases, dates, tiebreaker)
