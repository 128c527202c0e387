"""Deterministic, explainable matcher from an utterance to catalog targets.

Index side: every target's phrases (name, short name, aliases, script synonyms) are normalised (synonyms
and colloquial variants are rewritten to one canonical word by the Lexicon) and cut by jieba into terms;
each term is weighted by IDF over targets, longer terms a little more. Whole short phrases are terms too,
so an exact alias hit weighs most.

Query side: fillers ("请问", "咋办") are cut out, then every window of the rest is looked up exactly, by
fuzzy pinyin (homophone typos: 居注证, 公基金) and with one character wildcarded (shape typos: 居往证).
A fuzzy hit is only believed when the characters it changes are not already explained by an exact term
(so 残疾证补办 does not turn into 残疾证新办).

Scoring a target (coverage, not a bag of words):
  * explained = the best set of non-overlapping query spans among the terms the target shares with the
    query (weighted interval scheduling), so 残疾人/残疾/残 at one spot count once;
  * every content character of the query carries a "mass" (the density of the most specific term that
    covers it, a small constant if no term does); the mass the target leaves unexplained is subtracted,
    so a target that ignores a distinctive query word (补, 转学, 退休...) loses to one that explains it;
  * 一件事 bundles are preferred only when the query asks for several things at once (the canonical
    word 一件事 is found); otherwise a single item wins ties.
Decision: none under `min_score`, clarify when runner-ups are within `clarify_ratio` of the top score.
Candidates carry the terms that explain them.
"""
from __future__ import annotations

import math
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

import jieba

from bot.matching.lexicon import Lexicon

EXACT, HOMOPHONE, ONE_TYPO = 1.0, 0.85, 0.7
SINGLE_CHAR = 0.6       # single-character terms (补, 丢, 换) count, but less
MAX_TERM = 10           # longest window looked up
MAX_DF_SHARE = 0.3      # a term in more than this share of targets says nothing and is dropped
UNEXPLAINED = 0.6       # share of the mass of unexplained query characters subtracted from a score
UNKNOWN_MASS = 0.5      # mass of a content character that no catalog term covers
BUNDLE_CUE = "一件事"    # canonical word for "all at once" (一起办, 一站式, 全套...)
BUNDLE_PENALTY = 0.7    # a bundle without that cue in the query keeps this share of its score
MAX_USER_WORD = 5       # longer user words (whole catalog names) are not given to jieba
RECENT_RESULTS = 4096   # match results kept per matcher (a content reload starts afresh)
WHOLE_PHRASE = 1.2      # a whole phrase weighs at least this many times the sum of its parts
FRAGMENT = 0.5          # weight kept by a term found only as part of a longer term
KEEP = 3                # candidates scored exactly
EPSILON = 1e-9          # scores are float sums: equal ones may differ in the last bits
# A term shared by more targets than this brings only the first of them into the race: the others share
# nothing else with the query (or a rarer term would bring them in), so they could only tie with these.
MAX_POSTINGS = 200


def _length_factor(n: int) -> float:
    return SINGLE_CHAR if n == 1 else 1.0 + 0.15 * min(n - 2, 4)


class Decision(str, Enum):
    match = "match"
    clarify = "clarify"
    none = "none"


@dataclass(frozen=True)
class Candidate:
    key: str
    name: str
    score: float
    terms: tuple[str, ...]


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    candidates: tuple[Candidate, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "decision": self.decision.value,
            "candidates": [
                {"code": c.key, "name": c.name, "score": round(c.score, 3), "terms": list(c.terms)}
                for c in self.candidates
            ],
        }


@dataclass(frozen=True)
class Thresholds:
    """Decision rule, tuned on the tune split of tests/data/utterances.tsv."""

    min_score: float = 2.2      # below: none
    clarify_ratio: float = 0.85  # runner-up within this share of the top score: clarify
    max_choices: int = 3


@dataclass
class _Index:
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_pinyin: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_wildcard: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    weight: dict[str, float] = field(default_factory=dict)
    prefixes: set[str] = field(default_factory=set)             # of every term
    pinyin_prefixes: set[str] = field(default_factory=set)      # of every pinyin key, whole syllables
    wildcard_prefixes: set[str] = field(default_factory=set)    # of every wildcard key, past the '?'
    posting_sets: dict[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Hit:
    term: str
    start: int
    end: int
    weight: float       # idf x length factor x strength of the way it was found


_Fuzzy = tuple[float, int, int, tuple[int, ...]]  # strength, start, end, positions of the changed characters


def _exact_at(index: _Index, text: str, start: int, stop: int, exact: dict[str, tuple[int, int]]) -> None:
    """Record (first occurrence only) every term spelled exactly from `start`."""
    for end in range(start + 1, stop + 1):
        window = text[start:end]
        if window not in index.prefixes:
            break
        if window in index.weight and window not in exact:
            exact[window] = (start, end)


def _homophones_at(index: _Index, text: str, syllables: list[str], start: int, stop: int,
                   fuzzy: dict[str, _Fuzzy]) -> None:
    """Record terms that sound like the text from `start` (at least two syllables); a homophone replaces a
    weaker fuzzy find of the same term."""
    key = syllables[start]
    for end in range(start + 2, stop + 1):
        key = key + " " + syllables[end - 1]
        if key not in index.pinyin_prefixes:
            break
        window = text[start:end]
        for term in index.by_pinyin.get(key, ()):
            if term != window and (term not in fuzzy or fuzzy[term][0] < HOMOPHONE):
                diff = tuple(start + i for i, (a, b) in enumerate(zip(window, term)) if a != b)
                fuzzy[term] = (HOMOPHONE, start, end, diff)


def _typos_at(index: _Index, text: str, start: int, stop: int, fuzzy: dict[str, _Fuzzy]) -> None:
    """Record terms found from `start` with one character wrong (not the first or the last), unless the term
    was already found fuzzily."""
    for i in range(1, stop - start - 1):
        head = text[start:start + i]
        if head not in index.prefixes:
            break
        key = head + "?"
        for end in range(start + i + 2, stop + 1):
            key += text[end - 1]
            if key not in index.wildcard_prefixes:
                break
            for term in index.by_wildcard.get(key, ()):
                if term not in fuzzy and term != text[start:end]:
                    fuzzy[term] = (ONE_TYPO, start, end, (start + i,))


def _own_tokenizer() -> jieba.Tokenizer:
    """A tokenizer to add user words to, on a copy of jieba's default dictionary: the dictionary is read once per
    process (seconds) instead of once per matcher, so a content version builds quickly."""
    jieba.dt.check_initialized()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(jieba.dt.FREQ), jieba.dt.total, True
    return tokenizer


class Matcher:
    """Build once from (key, name, phrases) triples. `match` gives the same result for the same text, and
    remembers recent results: call it from one thread (the event loop's)."""

    def __init__(self, lexicon: Lexicon, targets: Iterable[tuple[str, str, list[str]]],
                 user_words: Iterable[str] = (), thresholds: Thresholds = Thresholds(),
                 recent_results: int = RECENT_RESULTS) -> None:
        self._lexicon = lexicon
        self._thresholds = thresholds
        self._keys: list[str] = []
        self._names: list[str] = []
        self._is_bundle: list[bool] = []
        tokenizer = _own_tokenizer()
        # Only short user words: whole names and aliases are terms anyway, and cutting them into their
        # parts is what lets a colloquial query meet them half-way.
        for word in [*user_words, *lexicon.canonical.values(), BUNDLE_CUE]:
            word = lexicon.normalize(word)
            if 2 <= len(word) <= MAX_USER_WORD:
                tokenizer.add_word(word, freq=2000)
        term_sets: list[set[str]] = []
        self._parts: dict[str, list[str]] = {}
        for key, name, phrases in targets:
            self._keys.append(key)
            self._names.append(name)
            self._is_bundle.append(key.startswith("bundle:"))
            term_sets.append(self._terms_of(tokenizer, [name, *phrases]))
        self._index = self._build(term_sets)
        # Citizens type the same few hundred phrasings again and again; results are pure per text.
        self._recent: OrderedDict[str, MatchResult] = OrderedDict()
        self._recent_max = recent_results

    def _terms_of(self, tokenizer: jieba.Tokenizer, phrases: list[str]) -> set[str]:
        terms: set[str] = set()
        for phrase in phrases:
            text = self._lexicon.strip_fillers(self._lexicon.normalize(phrase))
            core = text.replace(" ", "")
            # search mode also yields the words inside longer words (设立登记 -> 设立, 登记, 设立登记)
            terms.update(w for part in text.split() for w in tokenizer.lcut_for_search(part, HMM=False)
                         if self._is_term(w))
            parts = [w for part in text.split() for w in tokenizer.lcut(part, HMM=False) if self._is_term(w)]
            if 2 <= len(core) <= MAX_TERM:
                terms.add(core)
                if len(parts) > 1:
                    self._parts[core] = parts
        return terms

    def _is_term(self, word: str) -> bool:
        return bool(word.strip()) and word not in self._lexicon.stop_chars and (
            len(word) > 1 or word in self._lexicon.key_chars)

    def _build(self, term_sets: list[set[str]]) -> _Index:
        index = _Index()
        df: dict[str, int] = defaultdict(int)
        for terms in term_sets:
            for term in terms:
                df[term] += 1
        n = len(term_sets)
        limit = max(3, int(MAX_DF_SHARE * n))
        for term, count in df.items():
            if count > limit or len(term) > MAX_TERM:
                continue
            index.weight[term] = math.log(1 + n / count) * _length_factor(len(term))
        # A whole phrase is worth more than its parts found one by one.
        for term, parts in self._parts.items():
            if term in index.weight:
                index.weight[term] = max(index.weight[term],
                                         WHOLE_PHRASE * sum(index.weight.get(p, 0.0) for p in parts))
        for term in index.weight:
            index.prefixes.update(term[:i] for i in range(1, len(term) + 1))
            if len(term) >= 2:
                syllables = self._lexicon.syllables(term)
                index.by_pinyin[" ".join(syllables)].add(term)
                index.pinyin_prefixes.update(" ".join(syllables[:i]) for i in range(2, len(term) + 1))
            if len(term) >= 3:
                for i in range(1, len(term) - 1):
                    key = term[:i] + "?" + term[i + 1:]
                    index.by_wildcard[key].add(term)
                    index.wildcard_prefixes.update(key[:j] for j in range(i + 2, len(key) + 1))
        for target, terms in enumerate(term_sets):
            for term in sorted(terms):
                if term in index.weight:
                    index.postings[term].append(target)
        index.posting_sets = {term: frozenset(targets) for term, targets in index.postings.items()}
        return index

    def _hits(self, text: str) -> list[_Hit]:
        """Vocabulary terms found in the text (spaces separate filler-free segments).

        Windows grow only while they are still the prefix of some term (exact, pinyin or wildcard key),
        so the cost is about linear in the length of the text, whatever the size of the catalog.
        """
        exact: dict[str, tuple[int, int]] = {}
        fuzzy: dict[str, _Fuzzy] = {}
        syllables = self._lexicon.syllables(text)
        n, index = len(text), self._index
        for start in range(n):
            if text[start] == " ":
                continue
            stop = min(n, start + MAX_TERM)
            _exact_at(index, text, start, stop, exact)
            _homophones_at(index, text, syllables, start, stop, fuzzy)
            _typos_at(index, text, start, stop, fuzzy)
        hits = [_Hit(t, s, e, self._index.weight[t]) for t, (s, e) in exact.items()]
        hits += self._believed(text, exact, fuzzy)
        return self._demote_fragments(hits, exact)

    def _believed(self, text: str, exact: dict[str, tuple[int, int]], fuzzy: dict[str, _Fuzzy]) -> list[_Hit]:
        """The fuzzy finds worth keeping, weighted by how few characters they change for their length."""
        # A fuzzy hit must not rewrite characters an exact multi-character term already explains.
        explained: set[int] = set()
        for s, e in exact.values():
            if e - s >= 2:
                explained.update(range(s, e))
        hits: list[_Hit] = []
        for term, (strength, s, e, diff) in fuzzy.items():
            if term in exact or explained.intersection(diff) or self._bends_a_particle(text, strength, s, e, diff):
                continue
            # the fewer characters changed for the length of the term, the more it is believed
            hits.append(_Hit(term, s, e, self._index.weight[term] * strength ** (2 * len(diff) / (e - s))))
        return hits

    def _bends_a_particle(self, text: str, strength: float, start: int, end: int, diff: tuple[int, ...]) -> bool:
        """A shape typo or a two-character homophone must not turn a particle (了, 开, 是) into part of a service
        word."""
        return (strength == ONE_TYPO or end - start <= 2) and any(text[i] in self._lexicon.stop_chars for i in diff)

    @staticmethod
    def _demote_fragments(hits: list[_Hit], exact: dict[str, tuple[int, int]]) -> list[_Hit]:
        """A term strictly inside a longer exact term at the same spot is only a fragment of it."""
        spans = [(s, e) for s, e in exact.values() if e - s >= 2]
        return [h if not any(s <= h.start and h.end <= e and e - s > h.end - h.start for s, e in spans)
                else _Hit(h.term, h.start, h.end, h.weight * FRAGMENT) for h in hits]

    @staticmethod
    def _best_cover(hits: list[_Hit]) -> tuple[float, list[_Hit]]:
        """Heaviest set of non-overlapping hits (weighted interval scheduling)."""
        hits = sorted(hits, key=lambda h: (h.end, h.start, h.term))
        best: list[tuple[float, list[_Hit]]] = [(0.0, [])]
        ends = [h.end for h in hits]
        for j, hit in enumerate(hits):
            # last hit ending at or before this one's start
            k = j
            while k > 0 and ends[k - 1] > hit.start:
                k -= 1
            take = (best[k][0] + hit.weight, best[k][1] + [hit])
            best.append(take if take[0] > best[j][0] else best[j])
        return best[-1]

    def _rank(self, hits: list[_Hit], mass: list[float], total_mass: float,
              cue: bool) -> list[tuple[float, int, list[_Hit]]]:
        """The KEEP best (score, target, chosen hits), best first, looking at few targets (MaxScore).

        A target's score is at most the gains of its hits (weight + the mass they could explain) minus
        the penalty for the whole mass. Hits are taken by decreasing gain; once the gains of the hits
        not taken yet cannot lift a target that has none of the taken ones into the decision band
        (min_score, or within clarify_ratio of the best score found), no further targets are brought in.
        Targets that share the same hits with the query (one item offered by many offices) have the same
        score, so each such group is scored once.
        """
        postings, sets = self._index.postings, self._index.posting_sets
        t = self._thresholds
        base = UNEXPLAINED * total_mass
        gains = [h.weight + UNEXPLAINED * sum(mass[h.start:h.end]) for h in hits]
        order = sorted(range(len(hits)), key=lambda i: (-gains[i], hits[i].term))
        rest = sum(gains)
        signature: dict[int, int] = {}   # target -> bit set of the hits it shares with the query
        partial: dict[int, float] = {}   # target -> sum of the gains of the taken hits it shares
        covers: dict[int, tuple[float, list[_Hit]]] = {}
        best = -math.inf
        taken = 0
        for i in order:
            if rest - base < max(t.min_score, best) * t.clarify_ratio:
                break
            rest -= gains[i]
            taken += 1
            bit, gain = 1 << i, gains[i]
            for target in postings.get(hits[i].term, ())[:MAX_POSTINGS]:
                signature[target] = signature.get(target, 0) | bit
                partial[target] = partial.get(target, 0.0) + gain
            if partial:
                leader = max(partial, key=partial.__getitem__)
                best = max(best, self._score(leader, signature[leader], hits, mass, total_mass, cue, covers)[0])
        for i in order[taken:]:
            members, bit = sets[hits[i].term], 1 << i
            for target in signature:
                if target in members:
                    signature[target] |= bit
        groups: dict[tuple[int, bool], list[int]] = defaultdict(list)
        for target, bits in signature.items():
            groups[(bits, self._is_bundle[target])].append(target)
        ranked = sorted(((self._score(targets[0], bits, hits, mass, total_mass, cue, covers), targets)
                         for (bits, _), targets in groups.items()),
                        key=lambda g: (-g[0][0], self._is_bundle[g[1][0]]))
        scored: list[tuple[float, int, list[_Hit]]] = []
        for (score, _, chosen), targets in ranked:
            if len(scored) >= KEEP and score < scored[-1][0] - EPSILON:
                break
            scored.extend((score, target, chosen) for target in sorted(targets, key=self._keys.__getitem__))
        scored.sort(key=lambda s: (-s[0], self._is_bundle[s[1]], self._keys[s[1]]))
        return scored[:KEEP]

    def _score(self, target: int, bits: int, hits: list[_Hit], mass: list[float], total_mass: float, cue: bool,
               covers: dict[int, tuple[float, list[_Hit]]]) -> tuple[float, int, list[_Hit]]:
        """Exact score of a target that shares the hits in `bits` with the query (covers memoised per bits)."""
        if bits not in covers:
            explained, chosen = self._best_cover([h for i, h in enumerate(hits) if bits >> i & 1])
            covered: set[int] = set()
            for hit in chosen:
                covered.update(range(hit.start, hit.end))
            covers[bits] = (explained - UNEXPLAINED * (total_mass - sum(mass[i] for i in covered)), chosen)
        score, chosen = covers[bits]
        if self._is_bundle[target] != cue:  # a bundle needs the cue, a single item does not want it
            score *= BUNDLE_PENALTY if score > 0 else 1 / BUNDLE_PENALTY
        return score, target, chosen

    def match(self, utterance: str) -> MatchResult:
        """Rank targets for an utterance and decide: match, clarify or none."""
        if (known := self._recent.get(utterance)) is not None:
            self._recent.move_to_end(utterance)
            return known
        result = self._decide(utterance)
        self._recent[utterance] = result
        if len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)
        return result

    def _decide(self, utterance: str) -> MatchResult:
        lex = self._lexicon
        text = lex.strip_fillers(lex.normalize(utterance)).strip()
        hits = self._hits(text)
        # Mass of each content character: density of the most specific term covering it.
        mass = [0.0] * len(text)
        for i, ch in enumerate(text):
            if ch != " " and ch not in lex.stop_chars:
                mass[i] = UNKNOWN_MASS
        for hit in hits:
            density = hit.weight / (hit.end - hit.start)
            for i in range(hit.start, hit.end):
                if mass[i] and density > mass[i]:
                    mass[i] = density
        total_mass = sum(mass)
        cue = any(h.term == BUNDLE_CUE for h in hits)

        scored = self._rank(hits, mass, total_mass, cue)
        t = self._thresholds
        top = [Candidate(self._keys[i], self._names[i], s,
                         tuple(h.term for h in sorted(chosen, key=lambda h: h.start)))
               for s, i, chosen in scored[:KEEP]]
        if not top or top[0].score < t.min_score:
            return MatchResult(Decision.none, tuple(top[:t.max_choices]))
        close = [c for c in top[: t.max_choices] if c.score >= t.clarify_ratio * top[0].score]
        if len(close) > 1:
            return MatchResult(Decision.clarify, tuple(close))
        return MatchResult(Decision.match, tuple(top[: t.max_choices]))
