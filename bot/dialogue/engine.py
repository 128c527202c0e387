"""The dialogue engine: one user message in, typed replies out, state saved atomically per user.

What a message does is decided by the conversation table (bot/dialogue/table.py); the engine loads and saves the
state around it, turns a bare number into the option it names on text-only channels, and starts a conversation
again politely when its stored state can no longer be used.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bot.content import Content
from bot.content_check import ContentCheck
from bot.dialogue.carry_over import Loaded, content_for_turn
from bot.dialogue.context import EngineSettings, Ports, TargetGone, TurnContext
from bot.dialogue.idempotency import earlier_answer, message_digest, remember_answer
from bot.dialogue.replies import Reply, TextReply, numbered_options
from bot.dialogue.state import Conversation
from bot.dialogue.table import build_table
from bot.feedback import Feedback
from bot.handoff.desk import HandoffDesk
from bot.identity import IdentityVerifier
from bot.inbox.recorder import DiscardMisses, MissRecorder
from bot.notify import Inbox
from bot.payments.service import Payments
from bot.ports import (BlobStore, BlobStoreUnavailable, CaseRepository, LicenceProvider, NoObserver, ProfileStore,
                       SessionStore, SessionUnavailable, TurnObserver)
from bot.uploads import Upload

__all__ = ["Engine", "EngineSettings", "Inbound", "TryAgain"]

log = logging.getLogger("zhengwu.dialogue")


@dataclass(frozen=True)
class Inbound:
    """One message from a citizen: text (typed or a tapped option's value) or a file."""

    text: str | None = None
    upload: Upload | None = None
    numbered: bool = False  # a text-only channel: a bare number picks one of the options last shown
    elder: bool = False  # sent in 长辈模式: fewer words per message
    client_id: str | None = None  # the client's id of this message: sent again, it gets the first answer
    channel: str = "chat"   # chat (H5 page, mini-program) or wechat (customer-service messages)


def _picked(message: Inbound, options: list[str]) -> Inbound:
    """"2" on a text-only channel means the second option last shown."""
    text = (message.text or "").strip()
    if message.numbered and text.isdecimal() and 1 <= int(text) <= len(options):
        return Inbound(text=options[int(text) - 1], elder=message.elder, channel=message.channel)
    return message


class Engine:
    """Runs the conversation. Everything it touches is injected; it holds no per-user state itself."""

    def __init__(self, content: Callable[[], Content], sessions: SessionStore, cases: CaseRepository,
                 profiles: ProfileStore, blobs: BlobStore, licences: LicenceProvider,
                 settings: EngineSettings, clock: Callable[[], datetime], inbox: Inbox,
                 feedback: Feedback, payments: Payments, *, identity: IdentityVerifier,
                 content_check: ContentCheck, observer: TurnObserver = NoObserver(),
                 loaded: Loaded = lambda version: None, handoffs: HandoffDesk | None = None,
                 unmatched: MissRecorder = DiscardMisses()) -> None:
        """`loaded` gives a content version this instance still has loaded (bot/dialogue/carry_over.py)."""
        self._content, self._sessions, self._clock, self._loaded = content, sessions, clock, loaded
        self._observer = observer
        self._ports = Ports(cases=cases, profiles=profiles, blobs=blobs, licences=licences, settings=settings,
                            clock=clock, inbox=inbox, feedback=feedback, payments=payments, identity=identity,
                            content_check=content_check, observer=observer, handoffs=handoffs,
                            unmatched=unmatched)
        self._table = build_table()
        self.restarted_conversations = 0  # conversations started again because their stored state could not be used

    async def handle(self, user: str, message: Inbound) -> list[Reply]:
        """Process one message under the user's lock; state is saved only if handling succeeds.

        Raises TryAgain (with a polite Chinese message) when the session or blob store cannot be used now,
        TooManyMessages (nothing changed) when the user is over the rate limit, and ClientIdReused when the
        message's client id was already answered for another message.
        """
        started = time.perf_counter()
        try:
            async with self._sessions.session(user) as session:
                state = await session.load() or Conversation()  # a fresh object: stores decode it on every load
                digest = message_digest(message.text, message.upload) if message.client_id else ""
                if message.client_id and (earlier := earlier_answer(state, message.client_id, digest)) is not None:
                    return earlier  # answered before: nothing runs again, nothing is saved
                turn = content_for_turn(state, self._content(), self._loaded)
                ctx = TurnContext(user, state, turn.content, self._ports, elder=message.elder,
                                  channel=message.channel)
                if state.recovered:
                    replies = await self._recover(ctx, message)
                elif turn.resumed:
                    replies = await self._resume(ctx)
                else:
                    replies = await self._turn(ctx, _picked(message, state.last_options))
                state.content_version = ctx.content.version or None
                state.last_options = [o.value for o in numbered_options(replies)]
                state.updated_at = self._clock()
                if message.client_id:
                    remember_answer(state, message.client_id, digest, replies)
                await session.save(state)
                return replies
        except (SessionUnavailable, BlobStoreUnavailable) as exc:
            raise TryAgain(self._content().prompts.retry_later) from exc
        finally:
            self._observer.turn_took(time.perf_counter() - started)

    async def hand_back(self, user: str, handoff_id: int) -> list[Reply]:
        """Staff closed the user's handoff: the bot takes the chat back at the step the citizen was in, under the
        user's lock; the replies (a rating question, then what that step asks) are for the live channel."""
        try:
            async with self._sessions.session(user) as session:
                state = await session.load()
                if state is None:
                    return []
                replies = await self._table.hand_back(TurnContext(user, state, self._content(), self._ports),
                                                      handoff_id)
                state.last_options = [o.value for o in numbered_options(replies)] or state.last_options
                await session.save(state)
                return replies
        except (SessionUnavailable, BlobStoreUnavailable) as exc:
            raise TryAgain(self._content().prompts.retry_later) from exc

    async def _turn(self, ctx: TurnContext, message: Inbound) -> list[Reply]:
        try:
            return await self._table.turn(ctx, message.text, message.upload)
        except TargetGone:
            ctx.state.reset()
            return [TextReply(text=ctx.prompts.item_gone)]

    async def _resume(self, ctx: TurnContext) -> list[Reply]:
        """A form started on a content version no longer loaded here: go on with the live version at its first open
        step, with an apology (the message is not taken as an answer: it may have answered another step)."""
        log.info("form of %s carried over from content %s to %s at its first open step", ctx.state.target,
                 (ctx.state.content_version or "")[:12], ctx.content.version[:12])
        resumed = await self._table.resume(ctx)
        return [TextReply(text=ctx.prompts.state_resumed.format(name=ctx.target().name)), *resumed]

    async def _recover(self, ctx: TurnContext, message: Inbound) -> list[Reply]:
        """The stored state no longer decodes: apologise and go on with what could be kept (see state.decode).
        An application kept is resumed at its first open step (the message may have answered another one);
        otherwise the message is handled as the first of a fresh conversation."""
        self.restarted_conversations += 1
        log.warning("stored conversation state unusable (%s): started again, application %s", ctx.state.recovered,
                    "kept" if ctx.state.target else "dropped")
        ctx.state.recovered = None
        if ctx.state.target and ctx.content.catalog.target(ctx.state.target) is not None:
            resumed = await self._table.resume(ctx)
            return [TextReply(text=ctx.prompts.state_resumed.format(name=ctx.target().name)), *resumed]
        ctx.state.reset()  # keeps the last case number
        return [TextReply(text=ctx.prompts.state_lost), *await self._turn(ctx, message)]


class TryAgain(Exception):
    """Nothing was changed; the user should send the same message again shortly."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
