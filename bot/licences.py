"""Sandbox 电子证照 provider: pretends the listed licence types exist for anyone with an ID number."""
from __future__ import annotations


class SandboxLicences:
    """Stands in for the provincial e-licence platform until it is connected."""

    def __init__(self, types: set[str]) -> None:
        self._types = frozenset(types)

    async def available(self, user: str, id_number: str | None) -> set[str]:
        return set(self._types) if id_number else set()
