"""Canned answers of the console: the item's 一次性告知 (materials, fee, time limit, place in one message, from
the catalog) and the team's own snippets."""
from __future__ import annotations

from bot.catalog import Target
from bot.dialogue.answers import answer
from bot.dialogue.prompts import Prompts
from bot.dialogue.topics import Topic

FULL_NOTICE = (Topic.materials, Topic.fee, Topic.time, Topic.location)


def full_notice(target: Target, prompts: Prompts) -> str:
    """Everything the citizen needs for the item, in one message."""
    return "\n\n".join(answer(topic, target, prompts).text for topic in FULL_NOTICE)


def canned_answers(target: Target | None, prompts: Prompts, snippets: tuple[str, ...]) -> list[dict[str, str]]:
    """The answers offered beside the chat: the full notice of the item in context first."""
    canned = [{"title": f"一次性告知：{target.name}", "text": full_notice(target, prompts)}] if target else []
    return canned + [{"title": s[:16], "text": s} for s in snippets]
