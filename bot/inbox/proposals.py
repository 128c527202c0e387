"""A draft change proposed from the inbox: the exact file (relative to the content folder), the line to add after
and the YAML lines, plus the golden utterance that keeps it true; and those lines applied to a version's files,
which the studio stores as a draft (its checks and golden tests run on it)."""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from bot.errors import Invalid
from bot.quality.places import Places

UTTERANCES = "tests/utterances.yaml"
Change = dict[str, Any]


class Action(str, Enum):
    alias = "alias"                # the utterance becomes an alias of the item
    situation = "situation"        # the utterance becomes one of the item's situations (life events in citizens' words)
    out_of_scope = "out_of_scope"  # nothing should match it: a golden utterance says so


def _file_line(place: str) -> tuple[str, int]:
    file, _, line = place.rpartition(":")
    if not file or not line.isdecimal():  # Places gives the key path of an item no YAML file holds
        raise Invalid(f"{place} is in no file of the content folder")
    return file, int(line)


def _golden(files: Mapping[str, str], text: str, answer: str) -> Change:
    """The line of tests/utterances.yaml that makes the regression tests check the change."""
    lines = files[UTTERANCES].splitlines() if UTTERANCES in files else ["utterances:"]
    return {"file": UTTERANCES, "after_line": len(lines), "yaml": [f"  {text}: {answer}"]}


def draft_change(files: Mapping[str, str], action: Action, text: str, item_key: str | None) -> list[Change]:
    """The YAML to add to a version's `files` for `action` on `text`. Raises Invalid for an unknown item, a missing
    one, an utterance the list holds already, or an alias or situation made of masked personal data."""
    if action is Action.out_of_scope:
        return [_golden(files, text, "none")]
    places = Places.of_files(files)
    entry = places.entry(item_key or "")
    if not item_key or entry is None:
        raise Invalid(f"no item or bundle {item_key!r}")
    if "*" in text:
        raise Invalid("the utterance holds masked personal data: it cannot become an alias or a situation")
    field = "aliases" if action is Action.alias else "situations"
    present = [str(value) for value in entry.get(field) or []]
    if text in present:
        raise Invalid(f"{item_key} has 「{text}」 among its {field} already")
    if present:
        file, line = _file_line(places.catalog(item_key, field, len(present) - 1))
        change: Change = {"file": file, "after_line": line, "yaml": [f"      - {text}"]}
    else:
        file, line = _file_line(places.catalog(item_key, "name"))
        change = {"file": file, "after_line": line, "yaml": [f"    {field}:", f"      - {text}"]}
    return [change, _golden(files, text, str(entry.get("name", item_key)))]


def apply(files: Mapping[str, str], changes: list[Change]) -> dict[str, str]:
    """The edited files: each change's YAML lines inserted after its line (later lines first, so the line numbers
    of the others stay right)."""
    edited: dict[str, list[str]] = {}
    for change in sorted(changes, key=lambda c: -int(c["after_line"])):
        name = str(change["file"])
        lines = edited.setdefault(name, files.get(name, "utterances:\n").splitlines())
        at = int(change["after_line"])
        lines[at:at] = [str(line) for line in change["yaml"]]
    return {name: "\n".join(lines) + "\n" for name, lines in edited.items()}
