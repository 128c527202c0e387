"""转人工 as a stage of the conversation: the citizen asks for a person (in words, by the button on a miss or a
clarify, or accepting the bot's offer); the chat goes to the desk of the item in context, of a department they
pick, or the general desk. While a person has it, every message goes to them; when they close it, the bot takes
over at the step the citizen was in and asks for a 好差评 of the human service."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.dialogue.commands import Command, HumanRating, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.replies import ChoicesReply, Reply, TextReply
from bot.dialogue.state import Stage
from bot.handoff.models import HandoffContext, HandoffStatus
from bot.handoff.routing import departments, route
from bot.inbox.dialogue import record_handoff
from bot.ratings import RATING_LABELS, RatingLevel

Waiting = Callable[[TurnContext, Stage], Awaitable[list[Reply]]]
PICK_FROM = 6  # departments offered to choose from when nothing is in context


class HandoffFlow:
    def __init__(self, waiting: Waiting) -> None:
        self._waiting = waiting  # what a stage asks for: the context card's last bot turn, and the resumption

    async def human(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """转人工: route the chat (asking for a department first when nothing is in context) and hand it over."""
        desk, s, p = ctx.ports.handoffs, ctx.state, ctx.prompts
        record_handoff(ctx)  # after a miss, or 都不是 under a question asked back: the unmatched inbox keeps it
        if desk is None:
            return stay(ctx, TextReply(text=p.human_offer))
        if s.stage is Stage.handoff:
            return reprompt(ctx)
        picked = invocation.arg if isinstance(invocation.arg, str) else None
        if s.target is None and picked is None:
            choices = departments(ctx.content.catalog)[:PICK_FROM]
            return stay(ctx, ChoicesReply(text=p.handoff_pick, options=[
                *(option(d.department, Command.human, d.department) for d in choices),
                option(desk.settings.general.department, Command.human, desk.settings.general.department)]))
        target = route(ctx.content.catalog, s.target, picked, desk.settings.general)
        context = await self._context(ctx)
        opening = await desk.open(ctx.user, context, target, ctx.channel)
        s.handoff, s.handoff_resume, s.misses = opening.handoff.id, s.stage, 0
        where = target.department
        if opening.handoff.status is HandoffStatus.callback:
            text = p.handoff_callback.format(department=where, opens=desk.settings.opens.strftime("%H:%M"),
                                             closes=desk.settings.closes.strftime("%H:%M"),
                                             due=opening.handoff.callback_due)
        elif opening.handoff.status is HandoffStatus.active:
            text = p.handoff_assigned.format(department=where)
        else:
            text = p.handoff_queued.format(department=where, ahead=opening.ahead,
                                           minutes=max(1, round(opening.wait_seconds / 60)))
        return Outcome([TextReply(text=text)], Stage.handoff)

    async def text(self, ctx: TurnContext, text: str) -> Outcome:
        """Any message while in the handoff goes to the person (or is kept as the message to call back about)."""
        desk, s = ctx.ports.handoffs, ctx.state
        handoff = await desk.citizen_says(s.handoff, text) if desk is not None and s.handoff else None
        if handoff is None:  # closed meanwhile: the bot has the chat again
            return self._back(ctx, TextReply(text=ctx.prompts.handoff_closed))
        if handoff.status is HandoffStatus.callback:
            return stay(ctx, TextReply(text=ctx.prompts.handoff_noted.format(due=handoff.callback_due)))
        return stay(ctx)

    async def leave(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """结束人工: back to the bot where the citizen was."""
        if ctx.state.stage is not Stage.handoff:
            return reprompt(ctx)
        if ctx.ports.handoffs is not None and ctx.state.handoff:
            await ctx.ports.handoffs.leave(ctx.state.handoff)
        return self._back(ctx, TextReply(text=ctx.prompts.handoff_left))

    async def rate(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/rate_human id level`: 好差评 of the human session, in any stage (the stage is kept)."""
        rated = invocation.arg
        if not isinstance(rated, HumanRating) or ctx.ports.handoffs is None:
            return reprompt(ctx)
        rating = await ctx.ports.handoffs.rate(ctx.user, rated.handoff, rated.level)
        if rating is None:
            return reprompt(ctx, TextReply(text=ctx.prompts.handoff_rated_none))
        p = ctx.prompts
        return reprompt(ctx, TextReply(text=p.rate_thanks_bad if rating.level.bad else p.rate_thanks))

    async def waiting(self, ctx: TurnContext) -> list[Reply]:
        return [ChoicesReply(text=ctx.prompts.handoff_waiting,
                             options=[option(ctx.prompts.handoff_end, Command.leave_human)])]

    async def taken_back(self, ctx: TurnContext, handoff_id: int) -> list[Reply]:
        """Staff closed the chat: the bot goes on at the step the citizen was in, after asking for a rating."""
        if ctx.state.stage is not Stage.handoff or ctx.state.handoff != handoff_id:
            return []
        p = ctx.prompts
        rate = ChoicesReply(text=p.handoff_rate, options=[
            option(RATING_LABELS[level], Command.rate_human, HumanRating(handoff_id, level)) for level in RatingLevel])
        back = self._back(ctx, TextReply(text=p.handoff_closed), rate)
        ctx.state.stage = back.stage
        return [*back.replies, *await self._waiting(ctx, back.stage)]

    @staticmethod
    def _back(ctx: TurnContext, *replies: Reply) -> Outcome:
        s = ctx.state
        stage = s.handoff_resume or Stage.idle
        s.handoff, s.handoff_resume = None, None
        return Outcome(list(replies), stage, reprompt=True)

    async def _context(self, ctx: TurnContext) -> HandoffContext:
        """The context card: the item, the step, what was given, and the bot's question at that step."""
        s = ctx.state
        target = ctx.content.catalog.target(s.target) if s.target else None
        step, labels, materials = None, {}, list(s.materials)
        if target is not None:
            plan = ctx.plan()
            step = plan.steps[s.step].label if s.stage is Stage.collect and s.step < len(plan.steps) else None
            labels = {f.key: f.label for f in plan.fields}
            names = {m.key: m.name for m in plan.materials}
            materials = [names.get(key, key) for key in s.materials]
        asked = [text for r in await self._waiting(ctx, s.stage) if isinstance(text := getattr(r, "text", None), str)]
        return HandoffContext(target=s.target, target_name=target.name if target else None, stage=s.stage.value,
                              step=step, fields=dict(s.answers), labels=labels, materials=materials,
                              last_turns=asked[-2:])
