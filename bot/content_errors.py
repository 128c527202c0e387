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


def _parse(text: str, cache: DiskCache | None) -> Any:
    """The YAML's data; with a cache, read from there when this text was parsed before (JSON reads ten times
    faster than YAML is constructed), else parsed and stored when it is plain JSON data."""
    if cache is None:
        return yaml.load(text, Loader=Loader)
    key = cache_key("yaml", text)
    if (data := cache.get_json("yaml", key)) is not None:
        return data
    data = yaml.load(text, Loader=Loader)
    if data is not None and json.loads(json.dumps(data)) == data:   # no dates or other non-JSON values
        cache.put_json("yaml", key, data)
    return data


def load_model(path: Path, model: type[M], root: Path | None = None, cache: DiskCache | None = None) -> M:
    """Parse (once, with libyaml where available, or from `cache`) and validate one YAML file; raise
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
    try:
        data: Any = _parse(text, cache)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ContentInvalid([ContentError(name, line, f"YAML syntax: {exc.problem}")]) from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        node = yaml.compose(text, Loader=Loader)
        errors = [
            ContentError(name, line_of(node, tuple(err["loc"])),
                         f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}")
            for err in exc.errors()
        ]
        raise ContentInvalid(errors) from exc
