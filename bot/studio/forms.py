"""The studio's form editors over YAML files: one item's aliases, situations (its catalog file), FAQ and steps (its
script) and the prompts, read as plain values and written back by replacing only the edited keys' lines (the rest
of each file, comments included, stays as it was). Also maps a finding's `file:line` back to the edited
`field[index]`, so the page shows it beside the field."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from bot.studio.versions import Files

CATALOG_FIELDS = ("aliases", "situations")
SCRIPT_FIELDS = ("faq", "steps")
PROMPTS = "scripts/prompts.yaml"
_CATALOG = re.compile(r"^catalog/[^/]+\.yaml$")
_SCRIPT = re.compile(r"^scripts/[^/]+\.yaml$")


class FormError(ValueError):
    """The structured edit names an item or field the version does not have."""


@dataclass(frozen=True)
class Block:
    """Lines [start, end) of a YAML mapping whose keys sit at `indent` spaces."""

    start: int
    end: int
    indent: int


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item_block(lines: list[str], code: str) -> Block | None:
    """The mapping of the catalog item `- code: CODE` (its keys' indent is the dash's plus two)."""
    for i, line in enumerate(lines):
        found = re.match(r"^(\s*)- code:\s*(\S+)", line)
        if not found or found.group(2).strip("'\"") != code:
            continue
        dash = len(found.group(1))
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > dash):
            end += 1
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1
        return Block(i, end, dash + 2)
    return None


def _key_span(lines: list[str], block: Block, key: str) -> tuple[int, int] | None:
    """Lines [start, end) of `key:` and its value inside `block` (the item's `- code:` line counts as a key line)."""
    pattern = re.compile(rf"^(\s*-\s+|\s{{{block.indent}}}){re.escape(key)}:(\s|$)")
    for i in range(block.start, block.end):
        if pattern.match(lines[i]) and (i == block.start or _indent(lines[i]) == block.indent):
            end = i + 1
            while end < block.end and (not lines[end].strip() or _indent(lines[end]) > block.indent):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            return i, end
    return None


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as the repository's files write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(key: str, value: Any, indent: int) -> list[str]:
    text = yaml.dump({key: value}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000, indent=2)
    return [" " * indent + line for line in text.rstrip("\n").split("\n")]


def _replace(lines: list[str], block: Block, key: str, value: Any) -> list[str]:
    """`lines` with `key` of `block` set to `value` (removed when empty, appended when new)."""
    span = _key_span(lines, block, key)
    new = _dump(key, value, block.indent) if value not in (None, [], {}, "") else []
    if span is None:
        return lines[:block.end] + new + lines[block.end:]
    return lines[:span[0]] + new + lines[span[1]:]


def _script_of(files: Files, code: str) -> str | None:
    for path in sorted(files):
        if _SCRIPT.match(path) and re.search(rf"^item:\s*['\"]?{re.escape(code)}['\"]?(\s|#|$)", files[path], re.M):
            return path
    return None


def _catalog_of(files: Files, code: str) -> str | None:
    for path in sorted(files):
        if _CATALOG.match(path) and _item_block(files[path].split("\n"), code):
            return path
    return None


def item_form(files: Files, code: str) -> dict[str, Any]:
    """The item `code` as the form shows it: name, its files and the four edited fields."""
    catalog = _catalog_of(files, code)
    if catalog is None:
        raise FormError(f"no catalog item {code}")
    lines = files[catalog].split("\n")
    block = _item_block(lines, code)
    assert block is not None
    item = (yaml.safe_load("\n".join(line[block.indent:] if i else line.strip()[2:]
                                      for i, line in enumerate(lines[block.start:block.end]))) or {})
    script = _script_of(files, code)
    data = (yaml.safe_load(files[script]) or {}) if script else {}
    return {"code": code, "name": item.get("name", ""), "catalog": catalog, "script": script,
            **{f: item.get(f) or [] for f in CATALOG_FIELDS}, **{f: data.get(f) or [] for f in SCRIPT_FIELDS}}


def prompts_form(files: Files) -> dict[str, str]:
    """Every prompt's text by key (prompts that are tables, like status_labels, are edited as YAML)."""
    return {str(k): v for k, v in (yaml.safe_load(files.get(PROMPTS, "")) or {}).items() if isinstance(v, str)}


def apply_item(files: Files, code: str, edit: dict[str, Any]) -> dict[str, str]:
    """The files changed by setting the given fields of item `code` (path -> new text); fields equal to what the
    file holds are left alone (their lines keep their style)."""
    current = item_form(files, code)
    edit = {k: v for k, v in edit.items() if v != current.get(k)}
    changed: dict[str, str] = {}
    for path, fields in ((current["catalog"], CATALOG_FIELDS), (current["script"], SCRIPT_FIELDS)):
        mine = {k: v for k, v in edit.items() if k in fields}
        if not mine:
            continue
        if path is None:
            raise FormError(f"item {code} has no script: its FAQ and steps cannot be edited here")
        lines = files[path].split("\n")
        for key, value in mine.items():
            block = _item_block(lines, code) if fields is CATALOG_FIELDS else Block(0, len(lines), 0)
            assert block is not None
            lines = _replace(lines, block, key, value)
        changed[path] = "\n".join(lines)
    return changed


def apply_prompts(files: Files, prompts: dict[str, str]) -> dict[str, str]:
    """scripts/prompts.yaml with these prompts' texts set (new keys appended); unchanged ones keep their lines."""
    current = prompts_form(files)
    tables = sorted(set(prompts) & set(yaml.safe_load(files.get(PROMPTS, "")) or {}) - set(current))
    if tables:
        raise FormError("these prompts are tables, edit them as YAML: " + ", ".join(tables))
    prompts = {k: v for k, v in prompts.items() if current.get(k) != v}
    if not prompts:
        return {}
    lines = files.get(PROMPTS, "").split("\n")
    for key, text in prompts.items():
        lines = _replace(lines, Block(0, len(lines), 0), key, text)
    return {PROMPTS: "\n".join(lines)}


def field_of(files: Files, path: str, line: int, code: str | None) -> str | None:
    """`field[index]` of the edited item (or `prompts.KEY`) that line `line` (1-based) of `path` falls in."""
    lines = files.get(path, "").split("\n")
    if path == PROMPTS:
        block, keys = Block(0, len(lines), 0), list(prompts_form(files))
    elif code is not None and _CATALOG.match(path):
        found = _item_block(lines, code)
        if found is None:
            return None
        block, keys = found, list(CATALOG_FIELDS)
    elif code is not None and _SCRIPT.match(path) and path == _script_of(files, code):
        block, keys = Block(0, len(lines), 0), list(SCRIPT_FIELDS)
    else:
        return None
    for key in keys:
        span = _key_span(lines, block, key)
        if span is None or not span[0] <= line - 1 < span[1]:
            continue
        if path == PROMPTS:
            return f"prompts.{key}"
        entry = block.indent + 2
        index = sum(1 for i in range(span[0] + 1, line) if re.match(rf"^\s{{{entry}}}- ", lines[i]))
        return f"{key}[{max(index - 1, 0)}]" if line - 1 > span[0] else key
    return None


def field_named(form: dict[str, Any], message: str) -> str | None:
    """`field[index]` of the item form whose entry holds a value the message quotes ('x' or 「x」), for findings
    that name what is wrong but not its line (a script's unknown field is reported on its first line)."""
    quoted = [a or b for a, b in re.findall(r"'([^']+)'|「([^」]+)」", message)]
    for key in (*CATALOG_FIELDS, *SCRIPT_FIELDS):
        for index, entry in enumerate(form.get(key) or []):
            values = entry.values() if isinstance(entry, dict) else [entry]
            if any(str(v) == q for v in values for q in quoted):
                return f"{key}[{index}]"
    return None
