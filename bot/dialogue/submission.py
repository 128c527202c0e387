"""确认提交: the confirmed application becomes a case (办件), with 实名核验 first where the item needs it."""
from __future__ import annotations

from bot.dialogue.answers import still_on_site
from bot.dialogue.application import ApplicationFlow
from bot.dialogue.commands import Invocation
from bot.dialogue.context import Outcome, TurnContext, stay
from bot.dialogue.correction import CorrectionFlow
from bot.dialogue.replies import TextReply
from bot.dialogue.script import Plan
from bot.dialogue.state import Stage
from bot.identity import needs_real_name
from bot.ports import CaseMaterial, NewCase, Profile
from bot.workdays import china_date


class SubmissionFlow:
    def __init__(self, application: ApplicationFlow, correction: CorrectionFlow) -> None:
        self._application, self._correction = application, correction

    async def submit(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        s, p = ctx.state, ctx.prompts
        if s.stage is not Stage.confirm or not s.target or not s.submit_key:
            if s.last_case:
                return stay(ctx, TextReply(text=p.already_submitted.format(number=s.last_case)))
            return stay(ctx, TextReply(text=p.nothing_to_cancel))
        if self._application.next_open(ctx) is not None:
            return await self._application.advance(ctx)
        if s.correcting:
            return await self._correction.resubmit(ctx)
        return await self._submit(ctx, s.submit_key)

    async def _submit(self, ctx: TurnContext, submit_key: str) -> Outcome:
        s, p, ports = ctx.state, ctx.prompts, ctx.ports
        target, plan = ctx.target(), ctx.plan()
        if needs_real_name(target, plan) and not await ports.identity.verify(
                ctx.user, s.answers.get("applicant_name", ""), s.answers.get("id_number", "")):
            return stay(ctx, TextReply(text=p.real_name_failed), self._application.summary(ctx))
        now = ports.clock()
        deadline = target.deadline(ctx.content.calendar, china_date(now))
        new_case = NewCase(
            user=ctx.user, target=target.key, target_name=target.name, item_codes=[i.code for i in target.items],
            fields={k: v for k, v in s.answers.items() if plan.field(k)},
            materials=[CaseMaterial(key=m.key, name=m.name, entry=s.materials.get(m.key)) for m in plan.materials],
            submitted_at=now, promised_date=deadline.date, provisional_date=deadline.provisional,
            idempotency_key=submit_key)
        case = await ports.cases.submit(new_case, ports.settings.case_number_prefix)
        await self._remember(ctx, plan)
        summary = self._application.summary(ctx, title=p.case_title.format(number=case.number), actions=False)
        s.reset()
        s.last_case = case.number
        note = p.provisional_note if deadline.provisional else ""
        text = p.submitted.format(number=case.number, date=deadline.date.isoformat(), provisional=note)
        return Outcome([TextReply(text=text), summary, *still_on_site(target, p)], Stage.idle)

    @staticmethod
    async def _remember(ctx: TurnContext, plan: Plan) -> None:
        """Keep reusable answers and provided materials for the citizen's next application."""
        profiles, s = ctx.ports.profiles, ctx.state
        profile = await profiles.load(ctx.user)
        fields = {k: v for k, v in s.answers.items() if (spec := plan.field(k)) and spec.reusable}
        materials = {k: m for k, m in s.materials.items() if m.kind in ("upload", "licence")}
        await profiles.save(ctx.user, Profile(fields={**profile.fields, **fields},
                                              materials={**profile.materials, **materials}))
