"""Conversation state kept per user in the session store (JSON-serialisable)."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field


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


class MaterialEntry(BaseModel):
    """How one material was provided."""

    kind: Literal["upload", "licence", "deferred", "received", "pledge", "skipped"]  # received: 容缺 handed in later
    blob_id: str | None = None
    filename: str | None = None
    mime: str | None = None
    size: int | None = None
    licence: str | None = None
    pledge: str | None = None


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
    last_options: list[str] = Field(default_factory=list, description="Values of the options last shown, "
                                    "in order: a text-only channel lets the user answer with their number")
    updated_at: datetime | None = None

    def start(self, target: str, submit_key: str) -> None:
        """Begin a fresh application for target, forgetting any unfinished one."""
        self.stage, self.target, self.step, self.submit_key = Stage.collect, target, 0, submit_key
        self.answers, self.materials, self.candidates = {}, {}, []
        self.reuse_offer, self.reuse_materials = {}, {}
        self.correcting, self.fix = None, {}

    def reset(self) -> None:
        """Back to idle, keeping only the number of the last submitted case."""
        last = self.last_case
        self.__init__()  # type: ignore[misc]
        self.last_case = last
