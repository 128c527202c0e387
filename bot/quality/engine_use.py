"""What the engine's code does with the content: which prompts it reads and which {placeholders} it fills in
each, and which commands it understands when typed. Read from the code itself, so a check never goes stale."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bot.dialogue.commands import Command
from bot.dialogue.material_steps import ALTERNATIVES
from bot.dialogue.table import build_table

_CODE = Path(__file__).resolve().parent.parent.parent
_PACKAGES = ("bot", "handlers", "providers")


@dataclass
class PromptUse:
    """How the code uses one prompt: by name, formatted (with these keywords, or with `**` ones it cannot see),
    or read as it is."""

    formatted: set[str] = field(default_factory=set)
    opaque: bool = False  # formatted with **kwargs, or its name only appears as a string (getattr)
    raw: bool = False     # read without .format


@dataclass(frozen=True)
class _Scan:
    uses: dict[str, PromptUse]
    names: frozenset[str]  # every attribute name and string constant in the code


def _format_calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"]


def _record(use: PromptUse, call: ast.Call) -> None:
    use.formatted.update(k.arg for k in call.keywords if k.arg is not None)
    use.opaque |= any(k.arg is None for k in call.keywords) or bool(call.args)


def _scan_file(tree: ast.AST, uses: dict[str, PromptUse], names: set[str]) -> None:
    """`p.offer.format(name=…)` formats `offer` with `name`; in a function that picks a template first
    (`template = p.a if … else p.b` … `template.format(number=…)`), every prompt read there counts as formatted
    with those keywords."""
    direct: set[int] = set()
    for call in _format_calls(tree):
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Attribute):
            _record(uses.setdefault(call.func.value.attr, PromptUse()), call)
            direct.add(id(call.func.value))
    for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        by_name = [c for c in _format_calls(function) if isinstance(c.func, ast.Attribute)
                   and isinstance(c.func.value, ast.Name)]
        for node in ast.walk(function) if by_name else ():
            if isinstance(node, ast.Attribute) and id(node) not in direct:
                for call in by_name:
                    _record(uses.setdefault(node.attr, PromptUse()), call)
                direct.add(id(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
            if id(node) not in direct:
                uses.setdefault(node.attr, PromptUse()).raw = True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
            uses.setdefault(node.value, PromptUse()).opaque = True


@cache
def _scan() -> _Scan:
    """Every .py file of the application, parsed once per process (the code does not change while it runs)."""
    uses: dict[str, PromptUse] = {}
    names: set[str] = set()
    for package in _PACKAGES:
        for path in sorted((_CODE / package).rglob("*.py")):
            if "quality" not in path.parts:
                _scan_file(ast.parse(path.read_text(encoding="utf-8")), uses, names)
    return _Scan(uses, frozenset(names))


def prompt_use(key: str) -> PromptUse | None:
    """How the code uses the prompt `key`; None when no code names it."""
    scan = _scan()
    return scan.uses.get(key) if key in scan.names else None


def typed_commands() -> frozenset[Command]:
    """Commands the engine acts on when a citizen types one of their words: those that count in every stage or
    when nothing is under way, the words of each stage, and the ways to provide a material (电子证照, 容缺 …)."""
    table = build_table()
    commands = {command for command, _ in (*table.fallbacks, *table.entry_points)}
    commands |= {command for state in table.states.values() for command in state.words}
    commands |= {alternative.command for alternative in ALTERNATIVES}
    return frozenset(commands)
