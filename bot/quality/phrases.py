"""Checks of the phrases the matcher indexes (names, short names, aliases, script synonyms, synonyms.yaml):
none under two items, and each one leads to its own item."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content import Content
from bot.content_errors import Loader, line_of
from bot.matching.lexicon import Lexicon
from bot.matching.matcher import Decision
from bot.quality.findings import Finding, Severity
from bot.quality.places import Places


@dataclass(frozen=True)
class Phrase:
    """One phrase naming a target, and where it is written."""

    key: str
    name: str   # the target's name
    kind: str   # name, short name, alias, synonym
    text: str
    where: str


def target_phrases(content: Content, places: Places) -> list[Phrase]:
    """Every phrase the matcher indexes, by target, with its place."""
    phrases = []
    for target in content.catalog.targets():
        if target.bundle is not None:
            phrases.append(Phrase(target.key, target.name, "name", target.name, places.catalog(target.key, "name")))
            phrases += [Phrase(target.key, target.name, "alias", alias, places.catalog(target.key, "aliases", i))
                        for i, alias in enumerate(target.bundle.aliases)]
        else:
            item = target.items[0]
            phrases.append(Phrase(target.key, target.name, "name", item.name, places.catalog(target.key, "name")))
            if item.short_name:
                phrases.append(Phrase(target.key, target.name, "short name", item.short_name,
                                      places.catalog(target.key, "short_name")))
            phrases += [Phrase(target.key, target.name, "alias", alias, places.catalog(target.key, "aliases", i))
                        for i, alias in enumerate(item.aliases)]
        phrases += [Phrase(target.key, target.name, "synonym", synonym, places.script(target.key, "synonyms", i))
                    for i, synonym in enumerate(content.scripts.synonyms(target.key))]
    return phrases


def _severity(*phrases: Phrase) -> Severity:
    """Official names come from the 实施清单 (one name for several offices or 情形 happens): a warning. So is a
    phrase shared by items of one name (one service at several offices: the bot asks which, by office). What the
    product team adds to different services (aliases, short names, synonyms) must be right: an error."""
    one_service = len(phrases) > 1 and len({p.name for p in phrases}) == 1
    return "warning" if one_service or all(p.kind == "name" for p in phrases) else "error"


def duplicate_findings(phrases: list[Phrase], lexicon: Lexicon) -> list[Finding]:
    """The same phrase (after the matcher's normalisation: synonyms, punctuation, case) under two targets: the
    matcher cannot tell them apart on it."""
    first: dict[str, Phrase] = {}
    findings = []
    for phrase in phrases:
        seen = first.setdefault(lexicon.normalize(phrase.text), phrase)
        if seen.key != phrase.key:
            same = "" if seen.text == phrase.text else f" (the same as 「{seen.text}」 once synonyms are applied)"
            findings.append(Finding(_severity(phrase, seen), phrase.where, "duplicate-phrase",
                                    f"{phrase.kind} 「{phrase.text}」 of {phrase.name} is also the {seen.kind} of "
                                    f"{seen.name} at {seen.where}{same}: keep it under one item"))
    return findings


def lexicon_findings(directory: Path) -> list[Finding]:
    """A variant listed under two canonical words of synonyms.yaml: only the first one ever applies."""
    path = directory / "dictionaries" / "synonyms.yaml"
    name = str(path.relative_to(directory))
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader) or {}
    owner: dict[str, str] = {}
    findings = []
    for canonical, variants in (data.get("synonyms") or {}).items():
        for i, variant in enumerate(variants or []):
            seen = owner.setdefault(str(variant), str(canonical))
            if seen != canonical:
                findings.append(Finding("error", f"{name}:{line_of(node, ('synonyms', canonical, i))}",
                                        "duplicate-synonym", f"「{variant}」 is a variant of both {seen} and "
                                                             f"{canonical}: keep it under one word"))
    return findings


def routing_findings(phrases: list[Phrase], content: Content) -> list[Finding]:
    """Each alias, short name and synonym must lead to its own target: a match on another one is an error, a
    question among several that includes it a warning, no answer at all an error. Names are checked too, as
    warnings."""
    findings = []
    for phrase in phrases:
        result = content.matcher.match(phrase.text, exact=False)
        keys = [c.key for c in result.candidates]
        if result.decision is Decision.match and keys[0] == phrase.key:
            continue
        if result.decision is Decision.clarify and phrase.key in keys:
            others = "、".join(c.name for c in result.candidates if c.key != phrase.key)
            findings.append(Finding("warning", phrase.where, "phrase-ambiguous",
                                    f"{phrase.kind} 「{phrase.text}」 of {phrase.name} asks back with {others}"))
            continue
        got = ("finds nothing" if result.decision is Decision.none
               else f"leads to {'、'.join(c.name for c in result.candidates)}")
        findings.append(Finding(_severity(phrase), phrase.where, "phrase-misrouted",
                                f"{phrase.kind} 「{phrase.text}」 of {phrase.name} {got}"))
    return findings
