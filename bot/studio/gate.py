"""The checks a version must pass before it is published: errors refuse the publish, warnings are shown.

A gate is a plain callable over a directory holding the version's files (run in a worker thread: it loads the
content). `basic_gate` is what `python -m bot check` does; the composition root may pass a fuller one."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.content import load_content
from bot.content_errors import ContentInvalid
from bot.content_lint import lint


@dataclass(frozen=True)
class GateReport:
    """Each finding as `where: message`, where is `file:line` relative to the version's root."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "errors": self.errors, "warnings": self.warnings}


Gate = Callable[[Path], GateReport]


def _relative(text: str, directory: Path) -> str:
    return text.replace(f"{directory}/", "")


def basic_gate(directory: Path) -> GateReport:
    """The content loads, its scripts have no errors and the citizen-facing text passes the lint."""
    try:
        content = load_content(directory, logging.getLogger("zhengwu.studio.gate"))
    except ContentInvalid as exc:
        return GateReport(errors=[_relative(str(e), directory) for e in exc.errors])
    errors = [*content.scripts.errors, *lint(directory, content.prompts, content.words)]
    return GateReport(errors=[_relative(str(e), directory) for e in errors])
