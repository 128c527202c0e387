"""办件: a submitted application, its materials, its recorded status changes."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.dialogue.state import MaterialEntry


class PledgeVerification(BaseModel):
    """Staff verification (核查) of a 告知承诺 the citizen gave instead of a material."""

    outcome: Literal["confirmed", "false"]
    note: str = Field(default="", max_length=500)
    by: str  # "staff:<id>"
    at: datetime


class CaseMaterial(BaseModel):
    key: str
    name: str
    entry: MaterialEntry | None = None  # None: an optional material not provided
    verification: PledgeVerification | None = None  # a pledge's latest verification


class NewCase(BaseModel):
    """A submitted application, before it has a number."""

    user: str
    target: str
    target_name: str
    item_codes: list[str]
    fields: dict[str, str]
    materials: list[CaseMaterial]
    submitted_at: datetime
    promised_date: date
    provisional_date: bool
    idempotency_key: str


class Case(NewCase):
    """办件: one application and its lifecycle."""

    number: str
    status: str


class CaseEvent(BaseModel):
    """One recorded status change: who, when, why."""

    at: datetime
    actor: str
    from_status: str
    to_status: str
    reason: str | None = None
    detail: dict[str, object] = {}


class StaleCase(Exception):
    """The case changed status since it was read; nothing was written."""
