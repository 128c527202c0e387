"""查进度 in the chat: the citizen's own cases with their status, what comes next, what they must do and any fee
due, open cases first."""
from __future__ import annotations

from bot.cases import Case
from bot.dialogue.commands import Invocation
from bot.dialogue.context import Outcome, TurnContext, reprompt
from bot.dialogue.replies import TextReply
from bot.lifecycle import OPEN, CaseStatus
from bot.matching import Decision
from bot.payments.orders import yuan

SHOWN = 5  # cases listed in one answer; older ones are counted
_WITH_REASON = {CaseStatus.returned, CaseStatus.refused}


class ProgressFlow:
    async def show(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/progress` or 查进度, 我的办件, 钱交了没 …: then the question the citizen was answering, if any. Words
        that name an item ("我的身份证办到哪一步了") narrow the list to its cases when there are some."""
        p = ctx.prompts
        cases = await ctx.ports.cases.list_for_user(ctx.user)
        if not cases:
            return reprompt(ctx, TextReply(text=p.cases_none))
        if isinstance(invocation.arg, str) and len(cases) > 1:
            cases = self._about(ctx, invocation.arg, cases) or cases
        due = {case.number: fee for case, fee in await ctx.ports.payments.due(ctx.user)}
        cases.sort(key=lambda c: (CaseStatus(c.status) in OPEN, c.submitted_at), reverse=True)
        lines = [p.cases_title]
        for case in cases[:SHOWN]:
            lines.append(await self._line(ctx, case, due.get(case.number)))
        if len(cases) > SHOWN:
            lines.append(p.case_more.format(count=len(cases) - SHOWN))
        return reprompt(ctx, TextReply(text="\n".join(lines)))

    @staticmethod
    def _about(ctx: TurnContext, words: str, cases: list[Case]) -> list[Case]:
        """The cases of the items the words may name (one match, or the several close ones)."""
        result = ctx.content.matcher.match(words)
        if result.decision is Decision.none:
            return []
        keys = {candidate.key for candidate in result.candidates}
        return [case for case in cases if case.target in keys or keys & set(case.item_codes)]

    @staticmethod
    async def _line(ctx: TurnContext, case: Case, fee: int | None) -> str:
        p, status = ctx.prompts, CaseStatus(case.status)
        line = p.case_line.format(name=case.target_name, number=case.number, status=p.case_states[status.value])
        if status in _WITH_REASON:
            reason = next((e.reason for e in reversed(await ctx.ports.cases.events(case.number))
                           if e.to_status == status.value and e.reason), None)
            line += p.progress_reason.format(reason=reason) if reason else ""
        if status in OPEN:
            line += p.case_promised.format(date=case.promised_date.isoformat())
        if fee:
            line += p.case_fee_due.format(amount=yuan(fee))
        return line
