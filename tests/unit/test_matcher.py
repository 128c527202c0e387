"""Intent matcher: accuracy on the labelled utterances, typo tolerance, decisions, determinism, CLI."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from bot.matching import Decision
from bot.matching.evaluate import evaluate, load_rows
from bot.matching.matcher import MODEL_CHARS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "utterances.tsv"
# Measured (lexical scores only: the `content` fixture has no embedding model) when the matcher was last tuned
# on the tune splits; a test fails on a drop of more than 3 points.
MEASURED = {"tune": 0.923, "holdout": 0.911}


@pytest.fixture(scope="module")
def matcher(content):
    return content.matcher


@pytest.fixture(scope="module")
def names(content):
    return {t.name for t in content.catalog.targets()}


def top(matcher, text: str) -> str | None:
    result = matcher.match(text)
    return result.candidates[0].name if result.decision is Decision.match else None


@pytest.mark.parametrize("split", ["tune", "holdout"])
def test_accuracy_does_not_drop(matcher, names, split):
    report = evaluate(matcher.match, load_rows(DATA, split), names, split)
    assert report.rows > 100
    accuracy = report.correct / report.rows
    assert accuracy >= MEASURED[split] - 0.03, report.summary()


@pytest.mark.parametrize("text, expected", [
    ("居注证怎么办", "居住证申领"),            # homophone
    ("身分证丢了", "居民身份证补领"),           # homophone in the dictionary
    ("公基金贷款", "住房公积金个人住房贷款"),
    ("身份证过期了咋办", "居民身份证换领"),
])
def test_typos_and_colloquial_words(matcher, text, expected):
    assert top(matcher, text) == expected


def test_a_shape_typo_still_ranks_the_item_first(matcher):
    # ranked first, but its score stays just under the none threshold (lexical alone and fused alike)
    assert matcher.match("居往证咋弄").candidates[0].name == "居住证申领"


def test_ambiguous_short_query_asks_back(matcher):
    result = matcher.match("身份证")
    assert result.decision is Decision.clarify
    assert {c.name for c in result.candidates} >= {"居民身份证换领", "居民身份证补领"}


@pytest.mark.parametrize("text", ["补办", "营业执照"])
def test_one_or_two_words_ask_back_without_the_model_too(matcher, text):
    result = matcher.match(text)
    assert result.decision is Decision.clarify and len(result.candidates) >= 2, result.to_json()


@pytest.mark.parametrize("text", ["你是机器人吗", "谢谢啊", "明天会下雪吗"])
def test_chit_chat_is_none(matcher, text):
    assert matcher.match(text).decision is Decision.none


def test_deterministic(matcher):
    for text in ["社保卡的事", "新房要开通水电", "残疾证补办", "公司登记"]:
        assert matcher.match(text) == matcher.match(text)
        assert matcher.match(text).to_json() == matcher.match(text).to_json()


def test_candidates_explain_themselves(matcher):
    result = matcher.match("身份证丢了")
    assert result.candidates[0].terms
    payload = result.to_json()
    assert payload["decision"] == "match"
    assert {"code", "name", "score"} <= set(payload["candidates"][0])


def test_a_long_letter_costs_the_model_no_more_than_a_sentence(matcher):
    """The model's time grows with every token it reads: a citizen who writes a whole letter gets its opening
    read by the model (the lexical side reads all of it), so one long message cannot hold up everyone's turns."""
    letter = "您好，我想咨询一下我家孩子的户口问题，" * 20
    read = matcher.model_text(letter)
    assert len(read) == MODEL_CHARS and "户口" in read
    assert len(matcher.model_text("我家孩子想上户口")) < MODEL_CHARS   # a chat message is read whole


@pytest.mark.slow  # a second Python process loads the catalog
def test_cli_prints_json_lines_for_stdin():
    lines = "身份证丢了\n你好\n居往证怎么弄\n"
    if (ROOT / "bot" / "__main__.py").exists():
        run = subprocess.run([sys.executable, "-m", "bot", "match"], input=lines, capture_output=True,
                             text=True, cwd=ROOT, timeout=120)
        assert run.returncode == 0, run.stderr
        out = run.stdout
    else:
        from bot.matching import cli
        buffer = io.StringIO()
        old_stdin = sys.stdin
        sys.stdin = io.StringIO(lines)
        try:
            with redirect_stdout(buffer):
                assert cli.main(["--intents", str(ROOT / "intents")]) == 0
        finally:
            sys.stdin = old_stdin
        out = buffer.getvalue()
    objects = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(objects) == 3
    assert all(o["decision"] in {"match", "clarify", "none"} for o in objects)
    assert objects[0]["candidates"][0]["name"] == "居民身份证补领"
    assert objects[1]["decision"] == "none"
