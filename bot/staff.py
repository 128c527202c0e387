"""Staff accounts and the notices addressed to them."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from bot.catalog.models import Level
from bot.lifecycle import Role


class Staff(BaseModel):
    id: int
    name: str
    role: Role
    department: str
    level: Level


class StaffNotice(BaseModel):
    """A message for the staff of one role in one department, e.g. an overdue ticket escalated to supervisors."""

    id: int = 0
    department: str
    role: Role
    kind: str  # e.g. "escalation.callback"
    text: str
    case_number: str | None = None
    ticket_id: int | None = None
    created_at: datetime
