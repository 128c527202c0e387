"""Replies as plain text, for channels that show no buttons (WeChat customer-service messages): options are
numbered in the order of `numbered_options`, so "2" picks the second one."""
from __future__ import annotations

from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import (CardReply, ChoicesReply, FormStepReply, MaterialStepReply, Option, PaymentReply,
                                  Reply, TextReply)

MAX_CHARS = 600  # a text message holds 2048 bytes: about 680 Chinese characters


def as_text(replies: list[Reply], p: Prompts) -> list[str]:
    """The replies as one or more text messages."""
    lines: list[str] = []
    number = 0

    def numbered(options: list[Option]) -> None:
        nonlocal number
        for option in options:
            number += 1
            lines.append(f"{number}. {option.label}")

    for reply in replies:
        if lines:
            lines.append("")
        if isinstance(reply, TextReply):
            lines.append(reply.text)
        elif isinstance(reply, ChoicesReply):
            lines.append(reply.text)
            numbered(reply.options)
        elif isinstance(reply, FormStepReply):
            lines.append(f"（{reply.progress.current}/{reply.progress.total}）{reply.text}")
            lines += [x for x in (reply.hint, reply.current_value and p.plain_current.format(value=reply.current_value))
                      if x]
            if reply.input == "choice":
                numbered(reply.options)
            elif reply.options:
                lines.append(p.plain_say.format(words="、".join(o.label for o in reply.options)))
        elif isinstance(reply, MaterialStepReply):
            lines += [f"（{reply.progress.current}/{reply.progress.total}）{reply.text}", p.plain_photo]
            numbered(reply.options)
        elif isinstance(reply, CardReply):
            lines.append(reply.title)
            lines += [f"{f.label}：{f.value}" for f in reply.fields]
            numbered(reply.actions)
        elif isinstance(reply, PaymentReply):
            lines += [reply.text, p.plain_pay]
    if number:
        lines += ["", p.plain_pick]
    return _chunks("\n".join(lines).strip())


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
