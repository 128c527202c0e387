"""缴费 in the chat: which case, then a payment request the mini-program pays with wx.requestPayment."""
from __future__ import annotations

from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, stay
from bot.dialogue.prompts import filled
from bot.dialogue.replies import ChoicesReply, PaymentReply, Reply, TextReply
from bot.payments.orders import yuan
from bot.payments.ports import PaymentRefused, PaymentUnavailable


class PaymentFlow:
    async def pay(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/pay [number]` or 缴费: pay the fee named, the only one due, or ask which."""
        p, payments = ctx.prompts, ctx.ports.payments
        owed = await payments.due(ctx.user)
        if not owed:
            return stay(ctx, TextReply(text=p.pay_none))
        picked = next((o for o in owed if o[0].number == invocation.arg), owed[0] if len(owed) == 1 else None)
        if picked is None:
            return stay(ctx, ChoicesReply(text=p.pay_which, options=[
                option(f"{c.target_name} {yuan(fee)}元", Command.pay, c.number) for c, fee in owed]))
        chosen = picked[0]
        try:
            payment = await payments.request(*picked)
        except (PaymentUnavailable, PaymentRefused):  # refusals are logged by the provider for staff
            return stay(ctx, TextReply(text=p.pay_unavailable))
        assert payment.client_params is not None  # request() always leaves a prepay
        amount = yuan(payment.amount_fen)
        return stay(ctx, PaymentReply(
            text=p.pay_request.format(name=chosen.target_name, number=chosen.number, amount=amount),
            case_number=chosen.number, amount=amount, out_trade_no=payment.out_trade_no, provider=payments.provider,
            request=payment.client_params))

    async def fees_due(self, ctx: TurnContext, unread: list[str]) -> tuple[list[str], list[Reply]]:
        """Shown when the chat opens: one tap to pay each fee that is due, and the unread progress messages
        without their "已受理，需缴费" sentences: a fee still due is said once, with its button; one paid (or the
        case withdrawn) meanwhile is nothing to act on any more."""
        p = ctx.prompts
        due = await ctx.ports.payments.due(ctx.user)
        fee_news = filled(p.progress_fee_due)
        return [text for text in unread if not fee_news.fullmatch(text)], [
            ChoicesReply(text=p.pay_due.format(name=case.target_name, number=case.number, amount=yuan(fee)),
                         options=[option(p.pay_now, Command.pay, case.number)]) for case, fee in due]
