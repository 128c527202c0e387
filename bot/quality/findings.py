"""One problem found in content, as the product team sees it: how bad, where, which check, what is wrong."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from bot.content_errors import ContentError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """An error blocks publishing; a warning is shown. `where` is `file:line` under the content folder, or the
    item/field path (`GA0020000.aliases[2]`) for content that has no file."""

    severity: Severity
    where: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {'warning: ' if self.severity == 'warning' else ''}{self.message}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def of(cls, error: ContentError, code: str, severity: Severity = "error") -> "Finding":
        """A finding from a loader or lint error (file:line: reason)."""
        return cls(severity, f"{error.file}:{error.line}", code, error.reason)


def blocking(findings: list[Finding]) -> bool:
    """Whether any finding is an error (publishing refused)."""
    return any(f.severity == "error" for f in findings)
