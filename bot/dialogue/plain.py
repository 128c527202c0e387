"""Replies as plain text, for channels that show no buttons (WeChat customer-service messages): options are
numbered by `replies.numbered`, the same enumeration that records them for the next message, so "2" picks the
second one."""
from __future__ import annotations

from typing import Callable

from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import (CardReply, ChoicesReply, FormStepReply, MaterialStepReply, PaymentReply,
                                  Reply, TextReply, numbered)

MAX_CHARS = 600  # a text message holds 2048 bytes: about 680 Chinese characters


def as_text(replies: list[Reply], p: Prompts) -> list[str]:
    """The replies as one or more text messages."""
    lines: list[str] = []
    numbers = numbered(replies)
    for reply, options in zip(replies, numbers):
        if lines:
            lines.append("")
        lines += _BODY[type(reply)](reply, p)
        lines += [f"{number}. {option.label}" for number, option in options]
    if any(numbers):
        lines += ["", p.plain_pick]
    return _chunks("\n".join(lines).strip())


def _text(reply: TextReply, p: Prompts) -> list[str]:
    return [reply.text]


def _choices(reply: ChoicesReply, p: Prompts) -> list[str]:
    return [reply.text]


def _form_step(reply: FormStepReply, p: Prompts) -> list[str]:
    lines = [f"（{reply.progress.current}/{reply.progress.total}）{reply.text}"]
    lines += [x for x in (reply.hint, reply.current_value and p.plain_current.format(value=reply.current_value)) if x]
    if reply.input != "choice" and reply.options:  # words to type: a number there is an answer
        lines.append(p.plain_say.format(words="、".join(o.label for o in reply.options)))
    return lines


def _material_step(reply: MaterialStepReply, p: Prompts) -> list[str]:
    return [f"（{reply.progress.current}/{reply.progress.total}）{reply.text}", p.plain_photo]


def _card(reply: CardReply, p: Prompts) -> list[str]:
    return [reply.title, *(f"{f.label}：{f.value}" for f in reply.fields)]


def _payment(reply: PaymentReply, p: Prompts) -> list[str]:
    return [reply.text, p.plain_pay]


_BODY: dict[type, Callable[..., list[str]]] = {
    TextReply: _text, ChoicesReply: _choices, FormStepReply: _form_step, MaterialStepReply: _material_step,
    CardReply: _card, PaymentReply: _payment,
}


def _chunks(text: str) -> list[str]:
    """Split at line breaks (inside a line only if it is longer than a message) into messages of at most
    MAX_CHARS characters."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in [line[i:i + MAX_CHARS] for i in range(0, len(line), MAX_CHARS)] or [""]:
            candidate = f"{current}\n{piece}" if current else piece
            if len(candidate) > MAX_CHARS:
                chunks.append(current)
                candidate = piece
            current = candidate
    return [c for c in chunks + [current] if c.strip()]
