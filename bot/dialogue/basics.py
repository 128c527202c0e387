"""The commands every chat has: opening it, small talk, help, a person, cancelling, and the answer to a rectified
rating."""
from __future__ import annotations

from bot.dialogue.application import UNDER_WAY
from bot.dialogue.commands import Command, Invocation, TicketAnswer, option
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.correction import CorrectionFlow
from bot.dialogue.paying import PaymentFlow
from bot.dialogue.replies import ChoicesReply, Reply, TextReply
from bot.dialogue.state import Stage
from bot.dialogue.talk import SmallTalk
from bot.notify import clause

CONFIRM_CANCEL_AFTER = 3  # answers given: from then on a cancel is confirmed once before the application is dropped


class BasicFlow:
    def __init__(self, correction: CorrectionFlow, payment: PaymentFlow) -> None:
        self._correction, self._payment = correction, payment

    async def hello(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """The chat was opened: news since the last visit, fees due, then where the citizen left off; the greeting
        only when nothing asks the citizen anything."""
        p = ctx.prompts
        taken = await ctx.ports.inbox.take_unread(ctx.user, ctx.ports.clock())
        unread, fees = await self._payment.fees_due(ctx, taken)
        news: list[Reply] = [TextReply(text="\n".join([p.unread_title, *unread]))] if unread else []
        for ticket in await ctx.ports.feedback.awaiting_answer(ctx.user):
            news.append(ChoicesReply(
                text=p.rectified_ask.format(number=ticket.case_number, result=clause(ticket.result or "")),
                options=[option(p.rectified_yes, Command.rectified, TicketAnswer(ticket.id, True)),
                         option(p.rectified_no, Command.rectified, TicketAnswer(ticket.id, False))]))
        news += fees
        if ctx.state.stage in UNDER_WAY:
            return reprompt(ctx, *news, TextReply(text=p.resume.format(name=ctx.target().name)))
        correction = await self._correction.start(ctx)
        if correction:
            return correction.after(*news)
        if ctx.state.stage is Stage.clarify:
            return reprompt(ctx, *news)  # the items to choose from, again
        if any(isinstance(reply, ChoicesReply) for reply in news):
            return stay(ctx, *news)
        return stay(ctx, *news, TextReply(text=p.greeting))

    async def cancel(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/cancel` or a word for it; past the first steps of an application it is confirmed once
        (`/cancel yes`, `/cancel no`, or yes / no in words)."""
        s, p = ctx.state, ctx.prompts
        if invocation.arg is False:
            return reprompt(ctx, TextReply(text=p.cancel_kept))
        given = len(s.answers) + len(s.materials)
        if invocation.arg is None and s.stage in UNDER_WAY and given >= CONFIRM_CANCEL_AFTER:
            s.cancel_asked = True
            return stay(ctx, ChoicesReply(text=p.cancel_confirm.format(name=ctx.target().name), options=[
                option(p.cancel_yes, Command.cancel, True), option(p.cancel_no, Command.cancel, False)]))
        under_way = s.stage not in (Stage.idle, Stage.offered, Stage.clarify)
        s.reset()
        return Outcome([TextReply(text=p.cancelled if under_way else p.nothing_to_cancel)], Stage.idle)

    async def small_talk(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """你好, 在吗, 谢谢, 再见: a short answer saying what the assistant can do, then the pending question."""
        p = ctx.prompts
        answers = {SmallTalk.greeting: p.talk_greeting, SmallTalk.presence: p.talk_presence,
                   SmallTalk.thanks: p.talk_thanks, SmallTalk.goodbye: p.talk_goodbye}
        talk = invocation.arg if isinstance(invocation.arg, SmallTalk) else SmallTalk.greeting
        return reprompt(ctx, TextReply(text=answers[talk]))

    async def human(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        return stay(ctx, TextReply(text=ctx.prompts.human_offer))

    async def help(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        return reprompt(ctx, TextReply(text=ctx.prompts.help))

    async def rectified(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/rectified ticket yes|no`: whether the rectification of a bad rating solved the problem. Typed words for
        "not solved" (phrases.yaml) answer no for the newest ticket awaiting an answer. Not solved reopens the
        ticket and tells the citizen what happens next."""
        p, answer = ctx.prompts, invocation.arg
        if not isinstance(answer, TicketAnswer):
            waiting = await ctx.ports.feedback.awaiting_answer(ctx.user)
            if not waiting:
                return reprompt(ctx, TextReply(text=p.rectified_nothing))
            answer = TicketAnswer(waiting[-1].id, False)
        ticket = await ctx.ports.feedback.answer(ctx.user, answer.ticket, answer.solved)
        if ticket is None:
            return reprompt(ctx, TextReply(text=p.rectified_nothing))
        if ticket.citizen_resolved:
            return stay(ctx, TextReply(text=p.rectified_thanks))
        return stay(ctx, TextReply(text=p.rectified_reopened.format(
            number=ticket.case_number, department=ticket.department, callback_due=ticket.callback_due.isoformat(),
            rectify_due=ticket.rectify_due.isoformat())))
