"""Where things are in the YAML files under an intents/ folder: `file:line` of an item, a bundle, a script and
any field inside them, for findings the product team can jump to."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.content_errors import Loader, line_of

Loc = tuple[int | str, ...]
_NOT_SCRIPTS = frozenset({"fields.yaml", "prompts.yaml"})


class Places:
    """The node tree of every catalog and script file, and which file and path holds each item, bundle and
    script (by target key: an item code or `bundle:<id>`). Read from a folder, or from a version's files."""

    def __init__(self, directory: Path, files: Mapping[str, str] | None = None) -> None:
        self._directory, self._files = directory, files
        self._nodes: dict[str, yaml.Node | None] = {}
        self._catalog: dict[str, tuple[str, Loc]] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, str] = {}
        for name in self._names("catalog"):
            data = self._read(name)
            for section, key, prefix in (("items", "code", ""), ("bundles", "id", "bundle:")):
                for index, entry in enumerate(data.get(section) or [] if isinstance(data, dict) else []):
                    if isinstance(entry, dict) and key in entry:
                        self._catalog.setdefault(f"{prefix}{entry[key]}", (name, (section, index)))
                        self._entries.setdefault(f"{prefix}{entry[key]}", entry)
        for name in self._names("scripts"):
            data = self._read(name)
            if Path(name).name not in _NOT_SCRIPTS and isinstance(data, dict):
                target = data.get("item") or (f"bundle:{data['bundle']}" if data.get("bundle") else None)
                if target:
                    self._scripts.setdefault(str(target), name)

    @classmethod
    def of_files(cls, files: Mapping[str, str]) -> Places:
        """The places in a content version's files (path relative to the content folder -> text)."""
        return cls(Path("."), files)

    def _names(self, folder: str) -> list[str]:
        if self._files is not None:
            return sorted(n for n in self._files if n.startswith(f"{folder}/") and n.count("/") == 1
                          and n.endswith(".yaml"))
        return [str(p.relative_to(self._directory)) for p in sorted((self._directory / folder).glob("*.yaml"))]

    def _text(self, name: str) -> str | None:
        if self._files is not None:
            return self._files.get(name)
        path = self._directory / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def _read(self, name: str) -> Any:
        text = self._text(name) or ""
        try:
            self._nodes[name] = yaml.compose(text, Loader=Loader)
            return yaml.load(text, Loader=Loader)
        except yaml.YAMLError:  # reported by the loader
            self._nodes[name] = None
            return None

    def at(self, name: str, loc: Loc = ()) -> str:
        """`file:line` of a path inside one file (`name` relative to the content folder)."""
        if name not in self._nodes and self._text(name) is not None:
            self._read(name)
        return f"{name}:{line_of(self._nodes.get(name), loc)}"

    def entry(self, key: str) -> dict[str, Any] | None:
        """The YAML mapping of an item or bundle as written (None when no catalog file holds it)."""
        return self._entries.get(key)

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
