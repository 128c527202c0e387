"""Where things are in the YAML files under an intents/ folder: `file:line` of an item, a bundle, a script and
any field inside them, for findings the product team can jump to."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.content_errors import Loader, line_of

Loc = tuple[int | str, ...]
_NOT_SCRIPTS = frozenset({"fields.yaml", "prompts.yaml"})


class Places:
    """The node tree of every catalog and script file, and which file and path holds each item, bundle and
    script (by target key: an item code or `bundle:<id>`)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._nodes: dict[str, yaml.Node | None] = {}
        self._catalog: dict[str, tuple[str, Loc]] = {}
        self._scripts: dict[str, str] = {}
        for path in sorted((directory / "catalog").glob("*.yaml")):
            name, data = self._read(directory, path)
            for section, key, prefix in (("items", "code", ""), ("bundles", "id", "bundle:")):
                for index, entry in enumerate(data.get(section) or [] if isinstance(data, dict) else []):
                    if isinstance(entry, dict) and key in entry:
                        self._catalog.setdefault(f"{prefix}{entry[key]}", (name, (section, index)))
        for path in sorted((directory / "scripts").glob("*.yaml")):
            name, data = self._read(directory, path)
            if path.name not in _NOT_SCRIPTS and isinstance(data, dict):
                target = data.get("item") or (f"bundle:{data['bundle']}" if data.get("bundle") else None)
                if target:
                    self._scripts.setdefault(str(target), name)

    def _read(self, directory: Path, path: Path) -> tuple[str, Any]:
        name = str(path.relative_to(directory))
        text = path.read_text(encoding="utf-8")
        try:
            self._nodes[name] = yaml.compose(text, Loader=Loader)
            return name, yaml.load(text, Loader=Loader)
        except yaml.YAMLError:  # reported by the loader
            self._nodes[name] = None
            return name, None

    def at(self, name: str, loc: Loc = ()) -> str:
        """`file:line` of a path inside one file (`name` relative to the content folder)."""
        if name not in self._nodes and (self._directory / name).is_file():
            self._read(self._directory, self._directory / name)
        return f"{name}:{line_of(self._nodes.get(name), loc)}"

    def catalog(self, key: str, *loc: int | str) -> str:
        """`file:line` of an item or bundle, or of a field inside it; the key itself when it has no file."""
        if key not in self._catalog:
            return ".".join([key, *map(str, loc)])
        name, base = self._catalog[key]
        return self.at(name, (*base, *loc))

    def script(self, key: str, *loc: int | str) -> str:
        """`file:line` of the script of a target, or of an entry inside it."""
        name = self._scripts.get(key)
        return self.at(name, loc) if name else ".".join([f"script:{key}", *map(str, loc)])
