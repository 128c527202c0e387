"""The checks a version must pass before it is published: errors refuse the publish, warnings are shown.

A gate is a plain callable over a directory holding the version's files (run in a worker thread: it loads the
content). `publish_gate` is what `make check` does: `python -m bot check`, then `python -m bot test`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.quality.checks import load_and_check
from bot.quality.golden import run_golden


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


def publish_gate(directory: Path) -> GateReport:
    """Every check of `python -m bot check` (errors block, warnings are shown), then the golden tests of the
    version's own `tests/` folder: a failing one blocks too."""
    return _gate(directory, golden=True)


def checks_gate(directory: Path) -> GateReport:
    """The checks alone, without the golden tests (for a deployment whose golden tests run elsewhere)."""
    return _gate(directory, golden=False)


def _gate(directory: Path, golden: bool) -> GateReport:
    content, findings = load_and_check(directory)
    errors = [_relative(str(f), directory) for f in findings if f.severity == "error"]
    warnings = [_relative(str(f), directory) for f in findings if f.severity == "warning"]
    if golden and content is not None and not errors:
        errors += [_relative(f"{r.file}: golden test 「{r.name}」 failed: {r.message}", directory)
                   for r in run_golden(directory, content).failures]
    return GateReport(errors=errors, warnings=warnings)
