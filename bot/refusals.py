"""Refused staff attempts are audited like successful ones: a 404 (outside the staff member's scope) or a 403
(their role may not) is written to the audit log as action `refused`, then passed on."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.errors import Forbidden, NotFound
from bot.ports import AuditLog
from bot.staff import Staff


@asynccontextmanager
async def audit_refusals(audit: AuditLog, staff: Staff, attempt: str, case_number: str | None,
                         **detail: object) -> AsyncIterator[None]:
    """Record a NotFound or Forbidden raised inside as a `refused` entry naming the attempt and the status."""
    try:
        yield
    except (NotFound, Forbidden) as exc:
        status = 404 if isinstance(exc, NotFound) else 403
        await audit.record(staff, "refused", case_number,
                           {"attempt": attempt, "status": status, "reason": exc.reason, **detail})
        raise
