"""Catalog facts that contradict the dialogue, reported by `python -m bot check` as file:line: reason. Loading
never fails on them (the dialogue copes: a bundle drops what its items issue, an on-site item gets a checklist).

- a bundle asking for a material one of its own items issues (`produces`): named by a bundle script, or needed
  by an item handled before the one that issues it; an item asking for what it issues itself; an item named after
  a document another item of its bundle asks for (出生医学证明签发, 出生医学证明) that does not declare it issues it;
- 容缺 (`deferrable`) on a material that is not required: it is simply skipped, 容缺 would be a second way;
- an item done on site (`online: on_site`) with online steps in a script, or with no window to go to; a script
  without steps for anything else; an on-site item of a bundle (applied for online, the item then finished at its
  window) without a `result` to tell the citizen what they get there.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

from bot.catalog.models import Bundle, CatalogFile, OnlineLevel, ServiceItem
from bot.content_errors import ContentError, ContentInvalid, Loader, line_of, load_model
from bot.dialogue.script import Script

_NOT_SCRIPTS = frozenset({"fields.yaml", "prompts.yaml"})
_ISSUING = ("签发", "核发", "颁发", "发放", "申领", "办理")  # an item named document + one of these issues it
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class _Parsed:
    """One valid YAML file: its name under intents/ and its node tree (for line numbers)."""

    name: str
    node: yaml.Node | None

    def error(self, loc: tuple[int | str, ...], reason: str) -> ContentError:
        return ContentError(self.name, line_of(self.node, loc), reason)


def _parse(paths: list[Path], model: type[M], root: Path) -> Iterator[tuple[_Parsed, M]]:
    """Each file that validates, with its model; the loader reports the others."""
    for path in paths:
        try:
            content = load_model(path, model, root)
        except ContentInvalid:
            continue
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=Loader)
        yield _Parsed(str(path.relative_to(root)), node), content


def _item_errors(file: _Parsed, index: int, item: ServiceItem) -> list[ContentError]:
    errors = []
    for m, material in enumerate(item.materials):
        at = ("items", index, "materials", m)
        if material.deferrable and not material.required:
            errors.append(file.error((*at, "deferrable"), f"material {material.key} of {item.code} is not required: "
                                     "it can be skipped, so 容缺 (deferrable) makes no sense"))
        if material.key in item.produces:
            errors.append(file.error((*at, "key"), f"{item.code} asks for {material.key}, which it issues itself"))
    if item.online is OnlineLevel.on_site and not item.locations:
        errors.append(file.error(("items", index, "online"), f"{item.code} is done on site but names no location"))
    return errors


def _bundle_errors(file: _Parsed, index: int, bundle: Bundle, items: dict[str, ServiceItem]) -> list[ContentError]:
    """An item needing a material that an item handled after it issues."""
    errors = []
    for position, code in enumerate(bundle.items):
        later = {key: other for other in bundle.items[position + 1:] if other in items for key in items[other].produces}
        for material in items[code].materials if code in items else []:
            if producer := later.get(material.key):
                errors.append(file.error(("bundles", index, "items", position),
                                         f"bundle {bundle.id}: {code} needs {material.key}, which {producer} issues "
                                         f"later in the bundle: list {producer} first"))
    return errors


def _on_site_errors(file: _Parsed, index: int, bundle: Bundle, items: dict[str, ServiceItem]) -> list[ContentError]:
    """An on-site item of a bundle that does not say what the citizen gets at its window."""
    return [file.error(("bundles", index, "items", position),
                       f"bundle {bundle.id}: {code} is done on site after the online application: declare its "
                       "`result` (what the citizen gets there)")
            for position, code in enumerate(bundle.items)
            if code in items and items[code].online is OnlineLevel.on_site and not items[code].result]


def _undeclared_errors(file: _Parsed, index: int, bundle: Bundle, items: dict[str, ServiceItem]) -> list[ContentError]:
    """An item named after a document another item of the bundle asks for, without `produces` naming it."""
    found: dict[tuple[str, str], ContentError] = {}
    members = [(position, items[code]) for position, code in enumerate(bundle.items) if code in items]
    for position, issuer in members:
        for _, other in members:
            for material in other.materials if other is not issuer else []:
                document = material.licence_type or material.name
                if material.key not in issuer.produces and issuer.name in {document + verb for verb in _ISSUING}:
                    found.setdefault((issuer.code, material.key), file.error(
                        ("bundles", index, "items", position),
                        f"bundle {bundle.id}: {issuer.code} {issuer.name} issues {document}, which {other.code} asks "
                        f"for: declare `produces: [{material.key}]` on {issuer.code}"))
    return list(found.values())


def _script_errors(file: _Parsed, script: Script, items: dict[str, ServiceItem],
                   bundles: dict[str, Bundle]) -> list[ContentError]:
    item = items.get(script.item or "")
    on_site = item is not None and item.online is OnlineLevel.on_site
    if on_site and script.steps:
        return [file.error(("steps",), f"{script.target_key} is done on site (online: on_site): its script has no "
                                       "online steps (keep faq and synonyms only)")]
    if not on_site and not script.steps:
        return [file.error(("item" if script.item else "bundle",), f"the script of {script.target_key} has no steps: "
                                                                   "its application would ask for materials only")]
    bundle = bundles.get(script.bundle or "")
    if bundle is None:
        return []
    produced = {key: code for code in bundle.items if code in items for key in items[code].produces}
    return [file.error(("steps", s, "material"), f"bundle {bundle.id} asks for {ref.material}, which its item "
                                                 f"{produced[ref.material]} issues")
            for s, ref in enumerate(script.steps) if ref.material in produced]


def consistency_errors(directory: Path) -> list[ContentError]:
    """Every contradiction between the catalog and the scripts under `directory` (an intents/ folder)."""
    catalog = list(_parse(sorted((directory / "catalog").glob("*.yaml")), CatalogFile, directory))
    items = {item.code: item for _, content in catalog for item in content.items}
    bundles = {bundle.id: bundle for _, content in catalog for bundle in content.bundles}
    errors = [error for file, content in catalog for i, item in enumerate(content.items)
              for error in _item_errors(file, i, item)]
    errors += [error for file, content in catalog for b, bundle in enumerate(content.bundles)
               for check in (_bundle_errors, _undeclared_errors, _on_site_errors) for error in check(file, b, bundle, items)]
    scripts = [path for path in sorted((directory / "scripts").glob("*.yaml")) if path.name not in _NOT_SCRIPTS]
    for file, script in _parse(scripts, Script, directory):
        errors += _script_errors(file, script, items, bundles)
    return errors
