"""From a citizen's words to catalog targets: lexical and dense scores fused, then a decision.

Each target is an `Entry`: its name, the phrases citizens use for it (short name, aliases, script synonyms,
situations) and its passages for the embedding model (those plus its conditions). The out-of-scope examples
of intents/dictionaries/out_of_scope.yaml are one more pseudo-target: when it wins, the answer is none.

score = ALPHA · lexical + (1 − ALPHA) · dense, dense rescaled from the model's cosine range to about 0..1;
without an embedder the lexical score alone decides (with its own thresholds). Decision: none under
`min_score` or when the out-of-scope examples win; clarify when runner-ups are within `margin` of the top
and can be told apart by their labels (a wider margin for a message of one or two words: a wrong card costs a
citizen more than one question); else match. A text that is exactly a phrase of one target (or an out-of-scope
example) goes to it. The model is called only when it can change the decision (`needs_vector`): not when the
lexical scores alone are sure (an exact phrase, or a clear winner by `gate_margin`). Thresholds were chosen on
tune splits only (`python -m bot.matching.calibrate`, `python -m bot evaluate`)."""
from __future__ import annotations

import re
from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Iterable

import numpy as np

from bot.matching.dense import DenseIndex, Embedder
from bot.matching.lexical import ArrayCache, LexicalIndex, cached_phrase_terms
from bot.matching.lexicon import Lexicon
from bot.matching.terms import WORD, terms

BUNDLE_CUE = WORD + "一件事"   # canonical word for "all at once" (一起办, 一站式, 全套...)
RECENT_RESULTS = 4096         # match results kept per matcher (a content reload starts afresh)
KEEP = 3                      # candidates returned
MAX_CONDITION = 60            # characters of a condition given to the embedding model
MAX_SPOKEN = 6                # syllables of the longest word looked up for pinyin typed in letters
MODEL_CHARS = 32              # characters of a message the embedding model reads: its time grows with each token
_LETTERS = re.compile(r"[a-z]+")
MAX_CONDITIONS = 2            # conditions of a target given to it (real exports list long legal ones)
SHORT_WORDS = 2               # a message of at most this many words is short (社保, 补办, 营业执照)


class Decision(str, Enum):
    match = "match"
    clarify = "clarify"
    none = "none"


@dataclass(frozen=True)
class Entry:
    """What the matcher knows of one target."""

    key: str
    name: str
    phrases: tuple[str, ...] = ()      # short name, aliases, script synonyms, situations
    conditions: tuple[str, ...] = ()   # for the embedding model only
    detail: str = ""                   # tells it apart from a target of the same name (情形, office)

    @property
    def is_bundle(self) -> bool:
        return self.key.startswith("bundle:")


@dataclass(frozen=True)
class Candidate:
    key: str
    name: str
    score: float
    terms: tuple[str, ...]
    label: str = ""        # the name, with what tells it apart when another candidate has the same name

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    candidates: tuple[Candidate, ...]
    out_of_scope: bool = False   # none because the words are about something else than public services

    def to_json(self) -> dict[str, object]:
        return {
            "decision": self.decision.value,
            "out_of_scope": self.out_of_scope,
            "candidates": [
                {"code": c.key, "name": c.name, "label": c.label, "score": round(c.score, 3), "terms": list(c.terms)}
                for c in self.candidates
            ],
        }


@dataclass(frozen=True)
class Thresholds:
    """Decision rule (chosen on the tune splits of tests/data/utterances.tsv and tests/data/colloquial.tsv)."""

    alpha: float = 0.5            # share of the lexical score in the fused one
    dense_low: float = 0.83       # cosine mapped to 0 ...
    dense_high: float = 0.95      # ... and to 1
    min_score: float = 0.35       # fused score below: none
    min_lexical: float = 0.1      # without an embedder: lexical score below: none
    margin: float = 0.01          # runner-ups this close to the top score: clarify
    margin_lexical: float = 0.03  # the same without an embedder
    margin_short: float = 0.05    # `margin` for a message of one or two words
    margin_short_lexical: float = 0.06   # the same without an embedder
    gate_min: float = 0.2         # lexical score the winner needs for the model to be skipped ...
    gate_margin: float = 0.15     # ... and its lead over the runner-up (inf: always call the model)
    bundle_penalty: float = 0.9   # a bundle's score when the query does not ask for several things at once
    max_choices: int = 3


@dataclass(frozen=True)
class Scores:
    """What the decision reads of one utterance: per target (out-of-scope pseudo-target last) its lexical and,
    with a query vector, dense score."""

    lexical: np.ndarray
    dense: np.ndarray | None
    query: set[str]
    exact: int | None   # the one target (or the out-of-scope examples) that has exactly this text as a phrase
    short: bool         # one or two words


@dataclass
class _Built:
    entries: list[Entry]
    lexical: LexicalIndex
    dense: DenseIndex | None
    words: list[frozenset[str]] = field(default_factory=list)   # word terms of each target, for explanations


def _phrases(entry: Entry) -> list[str]:
    return list(dict.fromkeys([entry.name, *entry.phrases]))


class Matcher:
    """Build once from entries; `match` gives the same result for the same text and remembers recent results:
    call it from one thread (the event loop's). `embed` runs the model: call it on `executor`."""

    def __init__(self, lexicon: Lexicon, entries: Iterable[Entry], out_of_scope: Iterable[str] = (),
                 embedder: Embedder | None = None, thresholds: Thresholds = Thresholds(),
                 recent_results: int = RECENT_RESULTS, cache: ArrayCache | None = None) -> None:
        self._lexicon = lexicon
        self._t = thresholds
        entries = list(entries)
        negatives = list(dict.fromkeys(out_of_scope))
        self._none = len(entries)          # index of the out-of-scope pseudo-target
        phrases = [(i, text) for i, entry in enumerate(entries) for text in _phrases(entry)]
        phrases.extend((self._none, text) for text in negatives or ["-"])
        owner = np.array([target for target, _ in phrases], dtype=np.int32)
        lexical = LexicalIndex(cached_phrase_terms(lexicon, [text for _, text in phrases], cache), owner,
                               len(entries) + 1)
        words = lexical.terms_of_targets(WORD)[:len(entries)]
        owners: dict[str, set[int]] = {}
        for i, text in phrases:
            owners.setdefault(lexicon.clean(text), set()).add(i)
        self._exact = {text: next(iter(o)) for text, o in owners.items() if len(o) == 1 and text}
        self._spoken = _spoken_words(lexicon, words)
        dense = None
        if embedder is not None:
            passages = [(i, text) for i, entry in enumerate(entries)
                        for text in [*_phrases(entry), *(c[:MAX_CONDITION] for c in entry.conditions[:MAX_CONDITIONS])]]
            passages.extend((self._none, text) for text in negatives or ["-"])
            dense = DenseIndex(embedder, passages, len(entries) + 1)
        self._built = _Built(entries, lexical, dense, words)
        self._bundles = np.array([e.is_bundle for e in entries] + [False])
        self._recent: OrderedDict[tuple[str, bool], MatchResult] = OrderedDict()
        self._recent_max = recent_results
        self._last: tuple[str, Scores] | None = None   # the last utterance's lexical scores

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    @property
    def dense(self) -> bool:
        return self._built.dense is not None

    @property
    def executor(self) -> Executor | None:
        """The one thread that runs the embedding model (None without one)."""
        return self._built.dense.executor if self._built.dense else None

    def embed(self, text: str) -> np.ndarray | None:
        """The query vector for `match` (None without an embedding model). Slow: call it on `executor`."""
        return self._built.dense.embed(self.model_text(text)) if self._built.dense else None

    def model_text(self, text: str) -> str:
        """What the embedding model reads: the readable text without fillers and question words, at most
        MODEL_CHARS characters (a shorter input is a cheaper call: tokens p99 36 -> 30 on the colloquial tune
        lines, accuracy unchanged; the cap touches 5 of those lines and keeps a whole letter's call as cheap as
        a sentence's)."""
        readable = self.readable(text)
        content = " ".join(self._lexicon.strip_fillers(self._lexicon.clean(readable)).split()) or readable
        return content[:MODEL_CHARS]

    def readable(self, text: str) -> str:
        """The text with pinyin typed in Latin letters written as the catalog's words it sounds like
        (gei baobao shang hukou -> gei 宝宝 上户口), so both scores can read it."""
        return _LETTERS.sub(lambda m: self._transliterate(m.group(0)), text.lower())

    def _transliterate(self, run: str) -> str:
        syllables = self._lexicon.spelled_syllables(run)
        if not syllables or len(syllables) < 2 and " ".join(syllables) not in self._spoken:
            return run
        out, at = [], 0
        while at < len(syllables):
            size = next((n for n in range(min(MAX_SPOKEN, len(syllables) - at), 0, -1)
                         if " ".join(syllables[at:at + n]) in self._spoken), 0)
            out.append(self._spoken[" ".join(syllables[at:at + size])] if size else syllables[at])
            at += max(size, 1)
        return "".join(out) if all(not w.isascii() for w in out) else " ".join(out)

    def match(self, utterance: str, vector: np.ndarray | None = None, exact: bool = True) -> MatchResult:
        """Rank targets for an utterance (with its vector from `embed`, dense scores count) and decide.
        `exact=False`: by the scores alone, even for a text that is exactly a phrase (content checks ask
        whether the ranking itself finds an alias)."""
        if not exact:
            return self.decide(replace(self.scores(utterance, vector), exact=None), self._t)
        key = (utterance, vector is not None)
        if (known := self._recent.get(key)) is not None:
            self._recent.move_to_end(key)
            return known
        return self._remember(key, self.decide(self.scores(utterance, vector), self._t))

    def needs_vector(self, utterance: str) -> bool:
        """Can the model change the decision? False without one, or when the lexical scores alone are sure
        (then `match(utterance)` without a vector gives that decision; it is remembered)."""
        if self._built.dense is None:
            return False
        sure = self.sure(self.scores(utterance), self._t)
        if sure is not None:
            self._remember((utterance, False), sure)
        return sure is None

    def _remember(self, key: tuple[str, bool], result: MatchResult) -> MatchResult:
        self._recent[key] = result
        if len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)
        return result

    def scores(self, utterance: str, vector: np.ndarray | None = None) -> Scores:
        """Everything the decision reads of an utterance (dense scores only with its vector)."""
        last = self._last  # read once: a studio report may score on a worker thread meanwhile
        if last is None or last[0] != utterance:   # `needs_vector` then `match`: scored once
            readable = self.readable(utterance)
            query = terms(self._lexicon, readable)
            cleaned = self._lexicon.clean(readable)
            words = sum(len(self._lexicon.words(part)) for part in self._lexicon.strip_fillers(cleaned).split())
            last = self._last = utterance, Scores(self._built.lexical.scores(query), None, query,
                                                  self._exact.get(cleaned), words <= SHORT_WORDS)
        lexical = last[1]
        if vector is None or self._built.dense is None:
            return lexical
        return replace(lexical, dense=self._built.dense.scores(vector))

    def fuse(self, s: Scores, t: Thresholds) -> np.ndarray:
        """The fused score of every target."""
        fused = s.lexical
        if s.dense is not None:
            rescaled = np.clip((s.dense - t.dense_low) / (t.dense_high - t.dense_low), 0.0, 1.2)
            fused = t.alpha * s.lexical + (1 - t.alpha) * rescaled
        if BUNDLE_CUE not in s.query:
            fused = np.where(self._bundles, fused * t.bundle_penalty, fused)
        return fused

    def sure(self, s: Scores, t: Thresholds) -> MatchResult | None:
        """The decision from lexical scores alone when dense scores could hardly change it: an exact phrase, or
        a match / out-of-scope winner at least `gate_min` and `gate_margin` ahead of the runner-up; else None."""
        lexical = replace(s, dense=None)
        result = self.decide(lexical, t)
        if s.exact is not None:
            return result
        fused = self.fuse(lexical, t)
        first, second = np.partition(-fused, 1)[:2] if len(fused) > 1 else (-fused[0], 0.0)
        clear = -first >= t.gate_min and second - first >= t.gate_margin
        return result if clear and (result.decision is Decision.match or result.out_of_scope) else None

    def decide(self, s: Scores, t: Thresholds) -> MatchResult:
        """None, clarify or match (with dense scores when `s` has them)."""
        entries = self._built.entries
        fused = self.fuse(s, t)
        dense, query = s.dense is not None, s.query
        order = [int(i) for i in np.argsort(-fused, kind="stable")[:KEEP + 1]]
        if s.exact is not None:   # exactly one target's own phrase (or an out-of-scope example): that one
            order = [s.exact, *(i for i in order if i != s.exact)]
        top = [i for i in order if i != self._none][:KEEP]
        candidates = tuple(self._candidate(i, float(fused[i]), query) for i in top)
        if order[0] == self._none:
            return MatchResult(Decision.none, candidates, out_of_scope=True)
        if s.exact is not None:
            return MatchResult(Decision.match, candidates)
        if not top or fused[top[0]] < (t.min_score if dense else t.min_lexical):
            return MatchResult(Decision.none, candidates)
        if s.short:
            margin = max(t.margin_short, t.margin) if dense else max(t.margin_short_lexical, t.margin_lexical)
        else:
            margin = t.margin if dense else t.margin_lexical
        close = [i for i in top[:t.max_choices] if fused[i] >= fused[top[0]] - margin]
        if len(close) > 1:
            choices = _distinct([self._candidate(i, float(fused[i]), query) for i in close],
                                [entries[i] for i in close])
            if len(choices) > 1:
                return MatchResult(Decision.clarify, choices)
        return MatchResult(Decision.match, candidates)

    def _candidate(self, i: int, score: float, query: set[str]) -> Candidate:
        entry = self._built.entries[i]
        shared = sorted((w[len(WORD):] for w in query & self._built.words[i]), key=len, reverse=True)
        return Candidate(entry.key, entry.name, score, tuple(shared))

    def close(self) -> None:
        if self._built.dense:
            self._built.dense.close()


def _spoken_words(lexicon: Lexicon, words: list[frozenset[str]]) -> dict[str, str]:
    """Fuzzy syllables -> the catalog word of two or more characters that sounds so (the longest, then the
    first in order)."""
    spoken: dict[str, str] = {}
    for word in sorted({w[len(WORD):] for ws in words for w in ws}, key=lambda w: (-len(w), w)):
        if len(word) >= 2 and all(ch in lexicon.pinyin for ch in word):
            spoken.setdefault(" ".join(lexicon.syllables(word)), word)
    return spoken


def _distinct(candidates: list[Candidate], entries: list[Entry]) -> tuple[Candidate, ...]:
    """Choices a citizen can tell apart: a repeated name gets its detail (情形 or office); a choice whose label
    would still repeat another one is dropped (the same item of two offices is one choice)."""
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c.name] = counts.get(c.name, 0) + 1
    out: list[Candidate] = []
    seen: set[str] = set()
    for c, entry in zip(candidates, entries):
        label = f"{c.name}（{entry.detail}）" if counts[c.name] > 1 and entry.detail else c.name
        if label not in seen:
            seen.add(label)
            out.append(Candidate(c.key, c.name, c.score, c.terms, label))
    return tuple(out)
