"""A draft change proposed from the inbox: the exact file (relative to the content folder), the line to add after
and the YAML lines, plus the golden utterance that keeps it true. The studio's draft mechanism applies it."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

from bot.catalog import Catalog
from bot.errors import Invalid
from bot.quality.places import Places

UTTERANCES = "tests/utterances.yaml"


class Action(str, Enum):
    alias = "alias"                # the utterance becomes an alias of the item
    situation = "situation"        # the utterance becomes the item's 情形
    out_of_scope = "out_of_scope"  # nothing should match it: a golden utterance says so


def _file_line(place: str) -> tuple[str, int]:
    file, _, line = place.rpartition(":")
    if not file or not line.isdecimal():  # Places gives the key path of an item no YAML file holds
        raise Invalid(f"{place} is in no file of the content folder")
    return file, int(line)


def _golden(directory: Path, text: str, answer: str) -> dict[str, object]:
    """The line of tests/utterances.yaml that makes the regression tests check the change."""
    lines = (directory / UTTERANCES).read_text(encoding="utf-8").splitlines() if (directory / UTTERANCES).is_file() \
        else ["utterances:"]
    return {"file": UTTERANCES, "after_line": len(lines), "yaml": [f"  {text}: {answer}"]}


def draft_change(directory: Path, catalog: Catalog, action: Action, text: str,
                 item_key: str | None) -> list[dict[str, object]]:
    """The YAML to add for `action` on `text`. Raises Invalid for an unknown item, a missing one, or an alias or
    情形 made of masked personal data."""
    if action is Action.out_of_scope:
        return [_golden(directory, text, "none")]
    target = catalog.target(item_key or "")
    if target is None:
        raise Invalid(f"no item or bundle {item_key!r}")
    if "*" in text:
        raise Invalid("the utterance holds masked personal data: it cannot become an alias or a 情形")
    places = Places(directory)
    if action is Action.situation:
        if target.bundle is not None:
            raise Invalid("a bundle has no 情形")
        file, line = _file_line(places.catalog(target.key, "name"))
        change: dict[str, object] = {"file": file, "after_line": line, "yaml": [f"    situation: {text}"],
                                     "replaces": target.items[0].situation}
    else:
        aliases = target.bundle.aliases if target.bundle is not None else target.items[0].aliases
        if aliases:
            file, line = _file_line(places.catalog(target.key, "aliases", len(aliases) - 1))
            change = {"file": file, "after_line": line, "yaml": [f"      - {text}"]}
        else:
            file, line = _file_line(places.catalog(target.key, "name"))
            change = {"file": file, "after_line": line, "yaml": ["    aliases:", f"      - {text}"]}
    return [change, _golden(directory, text, target.name)]
