"""Conversation state kept per user in the session store (JSON-serialisable), and its versioned encoding."""
from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field, ValidationError


class Stage(str, Enum):
    idle = "idle"          # nothing under way
    clarify = "clarify"    # waiting for the user to pick one of several items
    offered = "offered"    # one item found; user may ask about it or start applying
    reuse = "reuse"        # asking whether to reuse earlier answers
    collect = "collect"    # asking the current field or material
    pledge = "pledge"      # showing a 告知承诺 text, waiting for consent
    edit = "edit"          # choosing which answer to change
    confirm = "confirm"    # summary shown, waiting for submit
    rate_level = "rate_level"  # 好差评: waiting for one of the five levels
    rate_tags = "rate_tags"    # 好差评: picking tags
    rate_text = "rate_text"    # 好差评: free text or 跳过
    handoff = "handoff"        # 转人工: a person has the chat (or it waits for one); the bot only passes messages on


class MaterialEntry(BaseModel):
    """How one material was provided."""

    kind: Literal["upload", "licence", "deferred", "received", "pledge", "skipped"]  # received: 容缺 handed in later
    blob_id: str | None = None
    filename: str | None = None
    mime: str | None = None
    size: int | None = None
    licence: str | None = None
    pledge: str | None = None


class AnsweredMessage(BaseModel):
    """The answer already given to one client message id (bot/dialogue/idempotency.py)."""

    client_id: str
    digest: str = Field(description="Of the message's content: the same id with another message is refused")
    replies: str = Field(description="The replies' JSON as it was sent")


class Conversation(BaseModel):
    """Where one user is in the dialogue. Stored whole after every handled message."""

    stage: Stage = Stage.idle
    target: str | None = None
    candidates: list[str] = Field(default_factory=list)
    step: int = 0
    answers: dict[str, str] = Field(default_factory=dict)
    materials: dict[str, MaterialEntry] = Field(default_factory=dict)
    reuse_offer: dict[str, str] = Field(default_factory=dict, description="field key -> earlier value")
    reuse_materials: dict[str, MaterialEntry] = Field(default_factory=dict)
    submit_key: str | None = None
    correcting: str | None = Field(default=None, description="Number of a returned case being corrected")
    fix: dict[str, str] = Field(default_factory=dict, description="material key -> what staff asked to fix")
    rating_case: str | None = None
    rating_level: int | None = None
    rating_tags: list[str] = Field(default_factory=list)
    last_case: str | None = None
    cancel_asked: bool = Field(default=False, description="The last reply asked whether to drop the application: "
                               "the next message may answer yes or no")
    last_options: list[str] = Field(default_factory=list, description="Values of the options last shown, "
                                    "in order: a text-only channel lets the user answer with their number")
    handoff: int | None = Field(default=None, description="The handoff (转人工) the chat is in")
    handoff_resume: Stage | None = Field(default=None, description="The stage to go back to when staff close it")
    misses: int = Field(default=0, description="Messages in a row that matched no item")
    refusals: int = Field(default=0, description="Answers in a row refused at the current step")
    updated_at: datetime | None = None
    answered: list[AnsweredMessage] = Field(default_factory=list, description="The last few client message ids "
                                            "and their answers, oldest first: a retry gets the first answer")
    content_version: str | None = Field(default=None, description="The content version the last turn ran on: "
                                        "a form under way across a publish stays on it or is carried over")
    unmatched: str | None = Field(default=None, description="What the citizen said that found nothing or was asked "
                                  "back (masked): the unmatched inbox records it if no item follows")
    unmatched_token: str | None = Field(default=None, description="The unmatched inbox's token of the question asked "
                                        "back: the citizen's answer settles it, so only a clarify never answered "
                                        "stays recorded")
    recovered: str | None = Field(default=None, exclude=True, description="Set by `decode` (never stored) when the "
                                  "stored state could not be used as it was: why, without personal data")

    def start(self, target: str, submit_key: str) -> None:
        """Begin a fresh application for target, forgetting any unfinished one (the handler sets the stage)."""
        self.target, self.step, self.submit_key = target, 0, submit_key
        self.answers, self.materials, self.candidates = {}, {}, []
        self.reuse_offer, self.reuse_materials = {}, {}
        self.correcting, self.fix = None, {}

    def reset(self) -> None:
        """Back to idle, keeping only the number of the last submitted case and the answers to retry."""
        last, answered = self.last_case, self.answered
        self.__init__()  # type: ignore[misc]
        self.last_case, self.answered = last, answered


SCHEMA_VERSION = 2
"""The shape of the stored state. Bump it when a change would misread what an older release stored, and add
the step from the old shape to MIGRATIONS."""
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: lambda data: data,  # 1: stored before versioning, same shape as 2
}
_PREFIX = f'{{"v":{SCHEMA_VERSION}'.encode()
_KEPT = ("target", "answers", "materials", "submit_key", "correcting", "fix")  # an application in progress


_SERIALIZER = Conversation.__pydantic_serializer__  # model_dump_json's own argument handling is a quarter of its cost


def encode(state: Conversation) -> bytes:
    """The state's JSON, with the schema version first so `decode` reads the current shape without parsing twice."""
    body = _SERIALIZER.to_json(state, exclude_defaults=True)
    return _PREFIX + (b"," + body[1:] if body != b"{}" else b"}")


def decode(stored: bytes | str) -> Conversation:
    """The state stored by `encode` (or by a release before versioning). Never raises: a state that an older
    release stored is migrated, and one that no longer decodes (a renamed stage, a removed field) becomes a
    fresh start that keeps the last case number and, when it still reads, the application in progress; both
    have `recovered` set."""
    raw = stored.encode() if isinstance(stored, str) else stored
    if raw.startswith(_PREFIX) and raw[len(_PREFIX):len(_PREFIX) + 1] in (b",", b"}"):
        try:
            return Conversation.model_validate_json(raw)
        except ValidationError as exc:
            return _salvage(json.loads(raw), _why(exc))
    try:
        data = json.loads(raw)
    except ValueError:
        return Conversation(recovered="not JSON")
    if not isinstance(data, dict):
        return Conversation(recovered="not an object")
    version = data.pop("v", 1)
    while version in MIGRATIONS:
        data, version = MIGRATIONS[version](data), version + 1
    if version != SCHEMA_VERSION:
        return _salvage(data, f"schema version {version}")
    try:
        return Conversation.model_validate(data)
    except ValidationError as exc:
        return _salvage(data, _why(exc))


def _why(exc: ValidationError) -> str:
    """Where and what kind of error, never the stored value (it may be personal data)."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors()[:3])


def _salvage(data: dict[str, Any], why: str) -> Conversation:
    """A fresh start keeping what still reads: the last case number, and the application in progress."""
    fresh = Conversation(recovered=why)
    if isinstance(data.get("last_case"), str):
        fresh.last_case = data["last_case"]
    if not isinstance(data.get("target"), str) or not data.get("submit_key"):
        return fresh
    try:
        kept = Conversation.model_validate({key: data[key] for key in _KEPT if key in data})
    except ValidationError:
        return fresh
    kept.stage, kept.last_case, kept.recovered = Stage.collect, fresh.last_case, why
    return kept
