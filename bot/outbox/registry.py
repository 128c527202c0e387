"""Which handlers each outbox event type goes to (cosmicpython's EVENT_HANDLERS), in the order they run. Message
handlers come first, so a slow payment provider never holds up a citizen's message; each handler keeps its own
delivery state either way."""
from __future__ import annotations

from bot.outbox.dispatcher import EventHandlers
from bot.outbox.events import EventHandler


def event_handlers(inchat: EventHandler, log: EventHandler, refund: EventHandler,
                   subscribe: EventHandler | None) -> EventHandlers:
    """The map for these handlers; `subscribe` (WeChat subscribe messages) only where WeChat is configured. Events
    the citizen just caused in the mini-program (submitted, paid, rated badly) are not pushed as subscribe
    messages. The chat has already shown a submission and a bad rating (their replies say what happens next) and
    shows a closed rectification as the question whether it solved the problem (the hello command), so none goes
    to the in-chat inbox as well."""
    chat = (inchat, log)
    pushed = (*chat, subscribe) if subscribe is not None else chat
    return {
        "case.submitted": (log,),
        "case.status_changed": (*pushed, refund),
        "case.delivered": pushed,
        "case.pledge_verified": pushed,
        "payment.paid": chat,
        "payment.refunded": pushed,
        "rating.bad": (log,),
        "rectification.closed": (log, subscribe) if subscribe is not None else (log,),
    }
