"""Loading product-team YAML with errors that name file, line and reason."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.content_cache import DiskCache, cache_key

M = TypeVar("M", bound=BaseModel)

# libyaml's parser where PyYAML was built with it (about ten times faster than the pure-Python one).
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ContentError:
    """One problem in a content file, as shown to the product team."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ContentInvalid(Exception):
    """Raised when content files cannot be used; carries every error found."""

    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """Walk the YAML node tree along a pydantic error location; return the deepest line found."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def load_model(path: Path, model: type[M], root: Path | None = None, cache: DiskCache | None = None) -> M:
    """Parse (with libyaml where available, or from `cache`) and validate one YAML file; raise
    ContentInvalid with line numbers on any error. The node tree that gives the line numbers is composed only
    when validation fails. With a cache, versions holding the same file share one model of it."""
    name = str(path.relative_to(root)) if root else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentInvalid([ContentError(name, 1, f"cannot read file: {exc}")]) from exc
    if cache is None:
        return _validated(text, name, model, None)
    return cache.shared(cache_key("model", model.__module__, model.__qualname__, text),
                        lambda: _validated(text, name, model, cache))


def _validated(text: str, name: str, model: type[M], cache: DiskCache | None) -> M:
    """The model of a file's text; with a cache, validated straight from the JSON of its data when this text was
    parsed before (no YAML construction and no intermediate objects), else parsed and the data stored as JSON."""
    key = cache_key("yaml", text)
    if cache is not None and (stored := cache.get_bytes("yaml", key)) is not None:
        try:
            return model.model_validate_json(stored)
        except ValidationError:
            pass   # damaged, or data this code no longer accepts: parsed again below, errors with their lines
    try:
        data: Any = yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ContentInvalid([ContentError(name, line, f"YAML syntax: {exc.problem}")]) from exc
    try:
        result = model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        node = yaml.compose(text, Loader=Loader)
        errors = [
            ContentError(name, line_of(node, tuple(err["loc"])),
                         f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}")
            for err in exc.errors()
        ]
        raise ContentInvalid(errors) from exc
    if cache is not None and data is not None:
        encoded = json.dumps(data, ensure_ascii=False)
        if json.loads(encoded) == data:   # no dates or other values JSON would change
            cache.put_bytes("yaml", key, encoded.encode())
    return result
