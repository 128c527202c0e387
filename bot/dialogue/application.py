"""Applying for an item: the steps of its plan one by one, going back, editing, reusing earlier answers."""
from __future__ import annotations

import uuid

from bot.dialogue import render
from bot.dialogue.answers import answer, faq_answer, on_site_notice
from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.material_steps import MaterialStep, Pledge
from bot.dialogue.replies import CardReply, ChoicesReply, Progress, Reply, TextReply
from bot.dialogue.state import Stage
from bot.dialogue.steps import Accepted, Detour, Rejected, Step, StepResult
from bot.uploads import Upload

REFUSALS_BEFORE_OFFER = 3  # refused answers in a row at one step before a person is offered
UNDER_WAY = frozenset({Stage.collect, Stage.confirm, Stage.reuse, Stage.pledge, Stage.edit})


class ApplicationFlow:
    """From 我要办理 to the confirmation card; submitting is bot/dialogue/submission.py."""

    async def apply(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        s, p = ctx.state, ctx.prompts
        if not s.target or s.stage not in (Stage.offered, Stage.idle):
            return stay(ctx, TextReply(text=p.no_item_yet))
        target, plan = ctx.target(), ctx.plan()
        if target.on_site:  # 需到现场办理: the checklist, never an online application
            return stay(ctx, on_site_notice(target, p))
        s.start(target.key, uuid.uuid4().hex)
        started = TextReply(text=p.apply_start.format(name=target.name, count=len(plan.steps)))
        profile = await ctx.ports.profiles.load(ctx.user)
        s.reuse_offer = {f.key: profile.fields[f.key] for f in plan.fields if f.reusable and f.key in profile.fields}
        s.reuse_materials = {m.key: profile.materials[m.key] for m in plan.materials if m.key in profile.materials}
        if s.reuse_offer or s.reuse_materials:
            return Outcome([started, render.reuse_question(plan, s, p)], Stage.reuse)
        return (await self.goto(ctx, 0)).after(started)

    async def reuse(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """沿用 (`/reuse yes`) or 重新填写 (`/reuse no`, `/fresh`) what the citizen gave before."""
        s = ctx.state
        if s.stage is not Stage.reuse:
            return stay(ctx, TextReply(text=ctx.prompts.help))
        if invocation.arg is True:
            s.answers.update(s.reuse_offer)
            s.materials.update(s.reuse_materials)
        s.reuse_offer, s.reuse_materials = {}, {}
        return await self.advance(ctx)

    async def answer(self, ctx: TurnContext, text: str) -> Outcome:
        """Typed text while applying: a question about the item, else the answer to the current step."""
        words, plan = ctx.content.words, ctx.plan()
        question = words.is_question(text)
        faq = faq_answer(text, plan.faq) if question else None
        if faq:
            return reprompt(ctx, faq)
        topic = words.topic(text)
        if topic and question:
            return reprompt(ctx, answer(topic, ctx.target(), ctx.prompts))
        if ctx.state.stage is not Stage.collect:
            return reprompt(ctx)
        return await self._settle(ctx, await self.current(ctx).accept(ctx, text))

    async def upload(self, ctx: TurnContext, upload: Upload) -> Outcome:
        step = self.current(ctx) if ctx.state.stage is Stage.collect and ctx.state.target else None
        result = await step.accept(ctx, upload) if step is not None else None
        if result is None:
            return reprompt(ctx, TextReply(text=ctx.prompts.upload_not_expected))
        return await self._settle(ctx, result)

    async def material_option(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """A tapped alternative of the material step: 电子证照, 容缺, 告知承诺 (and 我承诺), 跳过."""
        if ctx.state.stage not in (Stage.collect, Stage.pledge) or not ctx.state.target:
            return reprompt(ctx)
        return await self._settle(ctx, await self.current(ctx).accept(ctx, invocation))

    async def _settle(self, ctx: TurnContext, result: StepResult) -> Outcome:
        ctx.state.refusals = ctx.state.refusals + 1 if isinstance(result, Rejected) else 0
        if isinstance(result, Accepted):
            return (await self.advance(ctx)).after(*result.replies)
        if isinstance(result, Rejected):
            offer: list[Reply] = []
            if ctx.state.refusals >= REFUSALS_BEFORE_OFFER:  # stuck at this step: a person may help
                offer = [ChoicesReply(text=ctx.prompts.handoff_offer_step,
                                      options=[option(ctx.prompts.ask_human, Command.human)])]
            return Outcome([*result.replies, *offer, *await self.ask(ctx)], Stage.collect)
        if isinstance(result, Detour):
            return Outcome([], result.stage, reprompt=True)
        return reprompt(ctx)

    async def advance(self, ctx: TurnContext) -> Outcome:
        """Go to the first unanswered step, or to the confirmation when none is left."""
        index = self.next_open(ctx)
        if index is None:
            return Outcome([self.summary(ctx)], Stage.confirm)
        return await self.goto(ctx, index)

    async def goto(self, ctx: TurnContext, index: int) -> Outcome:
        ctx.state.step = index
        return Outcome(await self.ask(ctx), Stage.collect)

    def next_open(self, ctx: TurnContext) -> int | None:
        state = ctx.state
        return next((i for i, step in enumerate(ctx.plan().steps) if not step.optional and not step.done(state)),
                    None)

    async def back(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        s, p = ctx.state, ctx.prompts
        if s.stage is Stage.confirm:
            return await self.goto(ctx, len(ctx.plan().steps) - 1)
        if s.stage is Stage.pledge:
            return Outcome(await self.ask(ctx), Stage.collect)
        if s.stage is Stage.idle:
            return stay(ctx, TextReply(text=p.nothing_to_cancel))
        if s.stage is not Stage.collect:
            return reprompt(ctx)
        if s.step == 0:
            return stay(ctx, TextReply(text=p.at_first_step), *await self.ask(ctx))
        return await self.goto(ctx, s.step - 1)

    async def edit(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """Change one answer: `/edit key` goes to that step, `/edit` lists the steps answered so far."""
        s = ctx.state
        if s.stage not in (Stage.collect, Stage.confirm, Stage.edit) or not s.target:
            return stay(ctx, TextReply(text=ctx.prompts.nothing_to_cancel))
        steps = ctx.plan().steps
        index = next((i for i, step in enumerate(steps) if step.key == invocation.arg), None)
        if index is not None:
            return await self.goto(ctx, index)
        return Outcome([self._edit_list(ctx)], Stage.edit)

    def _edit_list(self, ctx: TurnContext) -> ChoicesReply:
        return ChoicesReply(text=ctx.prompts.edit_which, options=[
            option(step.label, Command.edit, step.key) for step in ctx.plan().steps if step.done(ctx.state)])

    def current(self, ctx: TurnContext) -> Step:
        steps = ctx.plan().steps
        return steps[min(ctx.state.step, len(steps) - 1)]

    async def ask(self, ctx: TurnContext) -> list[Reply]:
        """The question of the current step."""
        progress = Progress(current=ctx.state.step + 1, total=len(ctx.plan().steps))
        return [await self.current(ctx).ask(ctx, progress)]

    def summary(self, ctx: TurnContext, title: str | None = None, actions: bool = True) -> CardReply:
        return render.summary(ctx.target().name, ctx.plan(), ctx.state, ctx.prompts, title, actions)

    # ---- what each stage of an application waits for -------------------------------------------------------
    async def waiting_collect(self, ctx: TurnContext) -> list[Reply]:
        return await self.ask(ctx)

    async def waiting_confirm(self, ctx: TurnContext) -> list[Reply]:
        return [self.summary(ctx)]

    async def waiting_reuse(self, ctx: TurnContext) -> list[Reply]:
        return [render.reuse_question(ctx.plan(), ctx.state, ctx.prompts)]

    async def waiting_edit(self, ctx: TurnContext) -> list[Reply]:
        return [self._edit_list(ctx)]

    async def waiting_pledge(self, ctx: TurnContext) -> list[Reply]:
        step = self.current(ctx)
        if not isinstance(step, MaterialStep) or not step.material.pledge:  # the script changed meanwhile
            return await self.ask(ctx)
        return [Pledge.question(step.material, ctx.prompts)]

