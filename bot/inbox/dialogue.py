"""Where the conversation tells the inbox about a miss: called by the finding flow and by a handoff to a person.
The utterance waiting for an outcome (a miss, or a question asked back) is kept masked in the state; a question
asked back is recorded at once as unanswered, and settled by whatever the citizen does next."""
from __future__ import annotations

from bot.dialogue.context import TurnContext
from bot.dialogue.state import Stage
from bot.inbox.grouping import normalise
from bot.inbox.models import MissKind
from bot.privacy import mask_text


def record_miss(ctx: TurnContext, text: str) -> None:
    """The matcher found nothing for `text`: recorded unless it is a bare yes/no or has no words."""
    if len(normalise(text).strip("#")) < 2 or ctx.content.phrases.answer(text) is not None:
        return
    ctx.ports.unmatched.record(MissKind.miss, text)
    ctx.state.unmatched = mask_text(text)


def asked_back(ctx: TurnContext, text: str) -> None:
    """Several items fit `text` and the citizen is asked which: kept as unanswered until they answer, and as
    abandoned if they say something else instead of picking."""
    ctx.state.unmatched = mask_text(text)
    ctx.state.unmatched_token = ctx.ports.unmatched.asked(text, ctx.state.candidates) or None


def resolved(ctx: TurnContext) -> None:
    """An item was found or picked: nothing is waiting any more."""
    _settle(ctx)
    ctx.state.unmatched = None


def left_clarify(ctx: TurnContext) -> None:
    """The citizen said something else instead of picking one of the items asked about."""
    if ctx.state.stage is Stage.clarify and ctx.state.unmatched:
        ctx.ports.unmatched.record(MissKind.abandoned_clarify, ctx.state.unmatched, ctx.state.candidates)
        _settle(ctx)
    ctx.state.unmatched, ctx.state.unmatched_token = None, None


def record_handoff(ctx: TurnContext) -> None:
    """The citizen asks for a person (人工, or 都不是 under a question asked back): recorded when it follows a
    miss or a question asked back. The handoff flow (bot/dialogue/handoff.py) calls this before it changes the
    stage."""
    if ctx.state.unmatched:
        kind = MissKind.none_of_these if ctx.state.stage is Stage.clarify else MissKind.handoff
        ctx.ports.unmatched.record(kind, ctx.state.unmatched, ctx.state.candidates)
        _settle(ctx)
    ctx.state.unmatched = None


def _settle(ctx: TurnContext) -> None:
    """The question asked back has its outcome: its unanswered record is forgotten."""
    if ctx.state.unmatched_token:
        ctx.ports.unmatched.settle(ctx.state.unmatched_token)
    ctx.state.unmatched_token = None
