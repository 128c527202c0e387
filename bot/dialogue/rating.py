"""好差评 in the chat, in four taps: which case, the level, tags, a few words (or 跳过)."""
from __future__ import annotations

from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.replies import ChoicesReply, Reply, TextReply
from bot.dialogue.state import Stage
from bot.ratings import BAD_TAGS, GOOD_TAGS, RATING_LABELS, RatingLevel


class RatingFlow:
    async def start(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/rate [number]` or 评价: rate the case named, the only one rateable, or ask which."""
        cases = await ctx.ports.feedback.rateable(ctx.user)
        if not cases:
            return stay(ctx, TextReply(text=ctx.prompts.rate_none))
        chosen = next((c for c in cases if c.number == invocation.arg), cases[0] if len(cases) == 1 else None)
        if chosen is None:
            return stay(ctx, ChoicesReply(text=ctx.prompts.rate_which, options=[
                option(f"{c.target_name} {c.number}", Command.rate, c.number) for c in cases]))
        ctx.state.reset()
        ctx.state.rating_case = chosen.number
        return Outcome([], Stage.rate_level, reprompt=True)

    async def level(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        s = ctx.state
        if s.stage is not Stage.rate_level or not isinstance(invocation.arg, RatingLevel):
            return reprompt(ctx)
        s.rating_level, s.rating_tags = int(invocation.arg), []
        return Outcome([], Stage.rate_tags, reprompt=True)

    async def tag(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        if ctx.state.stage is Stage.rate_tags and invocation.arg in self._tag_choices(ctx):
            ctx.state.rating_tags.append(str(invocation.arg))
        return reprompt(ctx)

    async def tags_done(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        if ctx.state.stage is not Stage.rate_tags:
            return reprompt(ctx)
        return Outcome([], Stage.rate_text, reprompt=True)

    async def skip(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        return await self._finish(ctx, "")

    async def text(self, ctx: TurnContext, text: str) -> Outcome:
        """Free text while the comment is asked for."""
        return await self._finish(ctx, text)

    async def _finish(self, ctx: TurnContext, comment: str) -> Outcome:
        s, p = ctx.state, ctx.prompts
        if s.stage is not Stage.rate_text or not s.rating_case or not s.rating_level:
            return reprompt(ctx)
        if comment and not await ctx.ports.content_check.acceptable(ctx.user, comment):
            return reprompt(ctx, TextReply(text=p.content_risky))  # not stored; asked again
        rating = await ctx.ports.feedback.rate(ctx.user, s.rating_case, RatingLevel(s.rating_level), s.rating_tags, comment)
        s.reset()
        if rating is None:
            return Outcome([TextReply(text=p.rate_none)], Stage.idle)
        return Outcome([TextReply(text=p.rate_thanks_bad if rating.level.bad else p.rate_thanks)], Stage.idle)

    async def question(self, ctx: TurnContext) -> list[Reply]:
        """What the rating waits for: a level, tags, or a few words."""
        p, stage = ctx.prompts, ctx.state.stage
        if stage is Stage.rate_level:
            return [ChoicesReply(text=p.rate_level.format(number=ctx.state.rating_case), options=[
                option(RATING_LABELS[level], Command.rate_level, level) for level in RatingLevel])]
        if stage is Stage.rate_tags:
            options = [option(t, Command.rate_tag, t) for t in self._tag_choices(ctx)]
            return [ChoicesReply(text=p.rate_tags, options=[*options, option(p.rate_done, Command.rate_tags_done)])]
        return [ChoicesReply(text=p.rate_text, options=[option(p.material_skip, Command.rate_skip)])]

    @staticmethod
    def _tag_choices(ctx: TurnContext) -> list[str]:
        s = ctx.state
        tags = BAD_TAGS if s.rating_level and RatingLevel(s.rating_level).bad else GOOD_TAGS
        return [t for t in tags if t not in s.rating_tags]
