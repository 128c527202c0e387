"""What a handler of the conversation table gets (TurnContext) and gives back (Outcome)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from bot.catalog import Target
from bot.content import Content
from bot.content_check import ContentCheck
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import Reply
from bot.dialogue.state import Conversation, Stage
from bot.feedback import Feedback
from bot.identity import IdentityVerifier
from bot.inbox.recorder import MissRecorder
from bot.notify import Inbox
from bot.payments.service import Payments
from bot.ports import BlobStore, CaseRepository, LicenceProvider, ProfileStore, TurnObserver

if TYPE_CHECKING:
    from bot.dialogue.script import Plan
    from bot.handoff.desk import HandoffDesk


@dataclass(frozen=True)
class EngineSettings:
    max_upload_bytes: int
    allowed_types: tuple[str, ...]
    case_number_prefix: str
    deferral_days: int = 10


@dataclass(frozen=True)
class Ports:
    """Everything outside the dialogue that a turn may use; built once by the engine."""

    cases: CaseRepository
    profiles: ProfileStore
    blobs: BlobStore
    licences: LicenceProvider
    settings: EngineSettings
    clock: Callable[[], datetime]
    inbox: Inbox
    feedback: Feedback
    payments: Payments
    identity: IdentityVerifier
    content_check: ContentCheck
    observer: TurnObserver
    unmatched: MissRecorder  # the unmatched inbox (bot/inbox)
    handoffs: "HandoffDesk | None" = None  # the human service (None: the bot gives the hotline instead)


class TargetGone(Exception):
    """The conversation refers to an item or bundle that is no longer in the catalog."""


@dataclass
class TurnContext:
    """One message being handled: who sent it, their state, the content snapshot and the ports."""

    user: str
    state: Conversation
    content: Content
    ports: Ports
    elder: bool = False  # 长辈模式: fewer words per message (the short prompt variants, essentials-first cards)
    prompts: Prompts = field(init=False)
    channel: str = "chat"  # where the message came from (bot/dialogue/engine.py Inbound)

    def __post_init__(self) -> None:
        self.prompts = self.content.prompts.elder if self.elder else self.content.prompts

    def target(self) -> Target:
        """The item or bundle of the conversation; TargetGone when it left the catalog meanwhile."""
        target = self.content.catalog.target(self.state.target or "")
        if target is None:
            raise TargetGone(self.state.target)
        return target

    def plan(self) -> "Plan":
        """The steps of the current application (only the returned materials when correcting a case)."""
        plan = self.content.scripts.plan(self.target())
        return plan.only_materials(set(self.state.fix)) if self.state.correcting else plan

    async def licences(self) -> set[str]:
        """The 电子证照 of this citizen the office can fetch itself."""
        return await self.ports.licences.available(self.user, self.state.answers.get("id_number"))


@dataclass(frozen=True)
class Outcome:
    """What a handler decided: the replies, the stage to go to, and whether to repeat what that stage waits for
    after the replies (so the citizen always knows the next move)."""

    replies: list[Reply]
    stage: Stage
    reprompt: bool = False

    def after(self, *replies: Reply) -> "Outcome":
        """The same outcome with `replies` said first."""
        return dataclasses.replace(self, replies=[*replies, *self.replies])


def stay(ctx: TurnContext, *replies: Reply, reprompt: bool = False) -> Outcome:
    """Say `replies` and keep the stage."""
    return Outcome(list(replies), ctx.state.stage, reprompt)


def reprompt(ctx: TurnContext, *replies: Reply) -> Outcome:
    """Say `replies`, keep the stage and repeat what it waits for."""
    return Outcome(list(replies), ctx.state.stage, True)
