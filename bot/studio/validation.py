"""Checking an edit as the editor types: the version's files with the edit applied are written to a temporary
folder and run through the same checks as publish (`bot/quality/`, without the golden tests), in a worker thread;
nothing is stored. Findings are kept per set of files, so an unchanged edit (or going back to one) is answered at
once, and each finding in an edited file carries the form field it falls in."""
from __future__ import annotations

import asyncio
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.quality.checks import load_and_check
from bot.quality.findings import Finding
from bot.studio.forms import field_named, field_of, item_form, prompts_form
from bot.studio.versions import Files, version_id

KEPT = 32  # sets of files whose findings are kept (an editor types back and forth)


@dataclass(frozen=True)
class Validation:
    """The findings (each with where, code, message and the form field, or null) and the edited files' texts."""

    errors: list[dict[str, str | None]]
    warnings: list[dict[str, str | None]]
    files: dict[str, str]
    item: dict[str, Any] | None
    prompts: dict[str, str] | None

    def to_json(self) -> dict[str, object]:
        return {"passed": not self.errors, "errors": self.errors, "warnings": self.warnings, "files": self.files,
                "item": self.item, "prompts": self.prompts}


def _findings(files: Files) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="zwb-validate-") as folder:
        root = Path(folder)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        return [Finding(f.severity, f.where.replace(f"{root}/", ""), f.code, f.message.replace(f"{root}/", ""))
                for f in load_and_check(root)[1]]


class Validator:
    def __init__(self) -> None:
        self._kept: OrderedDict[str, list[Finding]] = OrderedDict()

    async def validate(self, files: Files, edits: dict[str, str], item: str | None, prompts: bool) -> Validation:
        """The findings on `files` with `edits` applied; `item` names the catalog item a form edits, `prompts` says
        the prompts form is edited (the answer then holds every prompt's text)."""
        after = {**files, **edits}
        key = version_id(after)
        if (findings := self._kept.get(key)) is None:
            findings = self._kept[key] = await asyncio.to_thread(_findings, after)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        form = item_form(after, item) if item else None
        shown = [_shown(f, after, item, form) for f in findings]
        return Validation([s for s, f in zip(shown, findings) if f.severity == "error"],
                          [s for s, f in zip(shown, findings) if f.severity == "warning"], edits, form,
                          prompts_form(after) if prompts else None)


def _shown(finding: Finding, files: Files, item: str | None, form: dict[str, Any] | None) -> dict[str, str | None]:
    path, _, line = finding.where.rpartition(":")
    field = field_of(files, path, int(line), item) if line.isdigit() and path in files else None
    if field is None and form is not None and path in (form["catalog"], form["script"]):
        field = field_named(form, finding.message)
    return {"where": finding.where, "code": finding.code, "message": finding.message, "field": field}
