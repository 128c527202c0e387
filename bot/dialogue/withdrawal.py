"""撤回 in the chat: pick one of the citizen's open cases, confirm, and withdraw it (recorded like any change)."""
from __future__ import annotations

from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, stay
from bot.dialogue.replies import ChoicesReply, TextReply
from bot.lifecycle import OPEN, CaseStatus
from bot.cases import CaseEvent, StaleCase


class WithdrawalFlow:
    async def ask(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/withdraw [number]` or 撤回: which case, then a confirmation."""
        return await self._withdraw(ctx, invocation.arg, confirmed=False)

    async def confirm(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/withdraw_confirm number`: withdraw it."""
        return await self._withdraw(ctx, invocation.arg, confirmed=True)

    async def _withdraw(self, ctx: TurnContext, number: object, confirmed: bool) -> Outcome:
        p, cases = ctx.prompts, ctx.ports.cases
        open_cases = [c for c in await cases.list_for_user(ctx.user) if CaseStatus(c.status) in OPEN]
        if not open_cases:
            return stay(ctx, TextReply(text=p.withdraw_none))
        case = next((c for c in open_cases if c.number == number), None)
        if case is None:
            return stay(ctx, ChoicesReply(text=p.withdraw_which, options=[
                option(f"{c.target_name} {c.number}", Command.withdraw, c.number) for c in open_cases]))
        if not confirmed:
            return stay(ctx, ChoicesReply(
                text=p.withdraw_confirm.format(name=case.target_name, number=case.number),
                options=[option(p.withdraw_yes, Command.withdraw_confirm, case.number),
                         option(p.withdraw_no, Command.help)]))
        event = CaseEvent(at=ctx.ports.clock(), actor=f"citizen:{ctx.user}", from_status=case.status,
                          to_status=CaseStatus.withdrawn.value, reason=p.withdraw_reason)
        try:
            await cases.transition(case.number, case.status, event)
        except StaleCase:
            return stay(ctx, TextReply(text=p.correction_stale.format(number=case.number)))
        return stay(ctx, TextReply(text=p.withdrawn.format(number=case.number)))
