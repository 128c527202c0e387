"""缴费 in the chat: which case, then a payment request the mini-program pays with wx.requestPayment.

A mixin of the engine's turn (bot/dialogue/engine.py `_Turn`), like AftercareFlows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialogue.replies import ChoicesReply, Option, PaymentReply, Reply, TextReply
from bot.payments.orders import yuan
from bot.payments.ports import PaymentRefused, PaymentUnavailable

if TYPE_CHECKING:
    from bot.dialogue.engine import Engine
    from bot.dialogue.prompts import Prompts


class PaymentFlows:
    e: "Engine"
    p: "Prompts"
    user: str

    async def _pay(self, number: str | None) -> list[Reply]:
        owed = await self.e._payments.due(self.user)
        if not owed:
            return [TextReply(text=self.p.pay_none)]
        picked = next((o for o in owed if o[0].number == number), owed[0] if len(owed) == 1 else None)
        if picked is None:
            return [ChoicesReply(text=self.p.pay_which, options=[
                Option(label=f"{c.target_name} {yuan(fee)}元", value=f"/pay {c.number}") for c, fee in owed])]
        chosen = picked[0]
        try:
            payment = await self.e._payments.request(*picked)
        except (PaymentUnavailable, PaymentRefused):  # refusals are logged by the provider for staff
            return [TextReply(text=self.p.pay_unavailable)]
        assert payment.client_params is not None  # request() always leaves a prepay
        amount = yuan(payment.amount_fen)
        return [PaymentReply(text=self.p.pay_request.format(name=chosen.target_name, number=chosen.number,
                                                            amount=amount),
                             case_number=chosen.number, amount=amount, out_trade_no=payment.out_trade_no,
                             provider=self.e._payments.provider, request=payment.client_params)]

    async def _fees_due(self) -> list[Reply]:
        """Shown when the chat opens: one tap to pay each fee that is due."""
        return [ChoicesReply(text=self.p.pay_due.format(name=case.target_name, number=case.number, amount=yuan(fee)),
                             options=[Option(label=self.p.pay_now, value=f"/pay {case.number}")])
                for case, fee in await self.e._payments.due(self.user)]
