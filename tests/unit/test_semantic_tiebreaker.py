"""The embedding tie-breaker settles a hesitation between a few items, but never guesses on a bare keyword."""
from __future__ import annotations

import pytest

from app import build_app
from bot.content import Content
from bot.matching import Decision
from tests.chat import Chat


@pytest.mark.parametrize(("text", "expected"), [
    ("在北京看病想先备个案", "异地就医备案"),
    ("卖了房子把水表过户", "供水过户"),
    ("奶奶八十了领钱", "高龄津贴发放"),
])
def test_hesitation_is_settled(semantic_content: Content, text: str, expected: str) -> None:
    lexical = semantic_content.matcher.match(text)
    assert lexical.decision is Decision.clarify and expected in [c.name for c in lexical.candidates]
    settled = semantic_content.tiebreaker.resolve(text, lexical)
    assert settled.decision is Decision.match and settled.candidates[0].name == expected


@pytest.mark.parametrize("text", ["身份证", "结婚证的事", "我要领补贴"])
def test_vague_requests_still_get_a_question(semantic_content: Content, text: str) -> None:
    lexical = semantic_content.matcher.match(text)
    assert lexical.decision is Decision.clarify
    assert semantic_content.tiebreaker.resolve(text, lexical) == lexical


def test_matches_and_nones_are_left_alone(semantic_content: Content) -> None:
    for text in ("身份证过期了咋办", "今天天气怎么样"):
        lexical = semantic_content.matcher.match(text)
        assert semantic_content.tiebreaker.resolve(text, lexical) is lexical


async def test_chat_offers_the_settled_item(aiohttp_client, settings, semantic_content: Content, clock) -> None:
    chat = Chat(await aiohttp_client(build_app(settings, semantic_content, clock)), "traveller")
    await chat.say("在北京看病想先备个案")
    assert chat.last()["type"] == "card" and "异地就医备案" in chat.last()["title"]
