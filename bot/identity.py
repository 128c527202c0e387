"""实名核验: the applicant's name and 身份证号 are checked before an application is submitted.

`IdentityVerifier` is the port; production plugs in the province's 统一身份认证 (unified identity authentication)
platform here. `SandboxIdentityVerifier` stands in for it in development and tests. `RememberingVerifier` asks it
once per user and identity.

Which applications need it (`needs_real_name`): those whose form asks for the applicant's name and 身份证号
(the only ones that give something to verify), unless every item of the target sets `needs_real_name: false`
in the catalog.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Callable, Protocol

from bot.catalog import Target
from bot.dialogue.script import Plan
from bot.dialogue.validation import id_number_problem, typed_form
from bot.workdays import china_date


class IdentityVerifier(Protocol):
    async def verify(self, user: str, name: str, id_number: str) -> bool:
        """True when the name and 身份证号 belong to one real person (and may apply through this account)."""


class VerifiedIdentities(Protocol):
    """Identities that passed for a user (stored as keyed hashes, never in the clear)."""

    async def known(self, user: str, name: str, id_number: str) -> bool: ...
    async def remember(self, user: str, name: str, id_number: str, at: datetime) -> None: ...


def needs_real_name(target: Target, plan: Plan) -> bool:
    """Whether the application must pass 实名核验 before it is submitted."""
    asks = plan.field("applicant_name") is not None and plan.field("id_number") is not None
    return asks and any(item.needs_real_name for item in target.items)


class SandboxIdentityVerifier:
    """No network: accepts a name with any GB 11643-valid 身份证号 except the configured deny list
    (setting `real_name_deny`), so tests and demos can see both outcomes."""

    def __init__(self, deny: Iterable[str], clock: Callable[[], datetime]) -> None:
        self._deny = frozenset(typed_form(number) for number in deny)
        self._clock = clock

    async def verify(self, user: str, name: str, id_number: str) -> bool:
        number = typed_form(id_number)
        return bool(name.strip()) and id_number_problem(number, china_date(self._clock())) is None and number not in self._deny


class RememberingVerifier:
    """Asks the verifier once per user and identity: a pass is remembered; a refusal is not, so a record corrected
    at the authority (or a mistyped number fixed) is checked afresh next time."""

    def __init__(self, verifier: IdentityVerifier, remembered: VerifiedIdentities,
                 clock: Callable[[], datetime]) -> None:
        self._verifier, self._remembered, self._clock = verifier, remembered, clock

    async def verify(self, user: str, name: str, id_number: str) -> bool:
        if await self._remembered.known(user, name, id_number):
            return True
        if not await self._verifier.verify(user, name, id_number):
            return False
        await self._remembered.remember(user, name, id_number, self._clock())
        return True
