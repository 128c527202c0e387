"""Upload checks: the type is decided by the file's first bytes, never by its name."""
from __future__ import annotations

from dataclasses import dataclass

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(frozen=True)
class Upload:
    """A file as received from a client; `truncated` means it was larger than the limit."""

    filename: str
    data: bytes
    truncated: bool = False


def sniff(data: bytes) -> str | None:
    """MIME type by magic bytes, or None when it is none of the accepted kinds."""
    return next((mime for magic, mime in _SIGNATURES if data.startswith(magic)), None)
