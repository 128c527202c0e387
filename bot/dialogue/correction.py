"""补正 in the chat: when staff returned a case, ask exactly for the materials to fix and send them back."""
from __future__ import annotations

import uuid

from bot.dialogue.application import ApplicationFlow
from bot.dialogue.commands import Invocation
from bot.dialogue.context import Outcome, TurnContext, stay
from bot.dialogue.replies import TextReply
from bot.dialogue.state import Stage
from bot.lifecycle import CaseStatus
from bot.cases import Case, CaseEvent, StaleCase


class CorrectionFlow:
    def __init__(self, application: ApplicationFlow) -> None:
        self._application = application

    async def correct(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/correct` or 补正."""
        return await self.start(ctx) or stay(ctx, TextReply(text=ctx.prompts.correction_none))

    async def start(self, ctx: TurnContext) -> Outcome | None:
        """If staff returned one of the citizen's cases for correction, ask for the materials to fix; else None."""
        returned = await self._returned(ctx)
        if returned is None:
            return None
        case, fix = returned
        ctx.state.start(case.target, uuid.uuid4().hex)
        ctx.state.correcting, ctx.state.fix = case.number, fix
        names = {m.key: m.name for m in case.materials}
        lines = [f"· {names.get(k, k)}：{reason}" for k, reason in fix.items()]
        needed = TextReply(text="\n".join([ctx.prompts.correction_needed.format(number=case.number), *lines]))
        return (await self._application.advance(ctx)).after(needed)

    @staticmethod
    async def _returned(ctx: TurnContext) -> tuple[Case, dict[str, str]] | None:
        """The citizen's latest case returned for correction, and what staff asked to fix (material -> reason)."""
        cases = ctx.ports.cases
        returned = [c for c in await cases.list_for_user(ctx.user) if c.status == CaseStatus.returned.value]
        if not returned or ctx.content.catalog.target(returned[-1].target) is None:
            return None
        events = [e for e in await cases.events(returned[-1].number) if e.to_status == CaseStatus.returned.value]
        asked = events[-1].detail.get("materials") if events else None
        fix = {str(k): str(v) for k, v in asked.items()} if isinstance(asked, dict) else {}
        return (returned[-1], fix) if fix else None

    async def resubmit(self, ctx: TurnContext) -> Outcome:
        """Send the corrected materials back: the case returns to pre-review, with the event recorded."""
        s, number = ctx.state, ctx.state.correcting
        assert number is not None
        event = CaseEvent(at=ctx.ports.clock(), actor=f"citizen:{ctx.user}", from_status=CaseStatus.returned.value,
                          to_status=CaseStatus.submitted.value, reason="补正", detail={"materials": list(s.fix)})
        try:
            await ctx.ports.cases.transition(number, CaseStatus.returned.value, event, dict(s.materials))
        except StaleCase:
            s.reset()
            return Outcome([TextReply(text=ctx.prompts.correction_stale.format(number=number))], Stage.idle)
        s.reset()
        s.last_case = number
        return Outcome([TextReply(text=ctx.prompts.correction_submitted.format(number=number))], Stage.idle)
