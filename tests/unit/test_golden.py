"""Golden tests (bot/quality/golden.py): the shipped ones pass on intents/, and one that must fail does, saying
which turn and why; broken golden files are reported with their line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.content import Content
from bot.quality.golden import GoldenReport, run_golden
from tests.chat import ROOT


@pytest.fixture(scope="module")
def shipped(content: Content) -> GoldenReport:
    return run_golden(ROOT / "intents", content)


def test_the_shipped_golden_tests_pass_and_cover_what_the_issue_asks(shipped: GoldenReport) -> None:
    assert shipped.passed, shipped.table()
    conversations = [r for r in shipped.results if r.kind == "conversation"]
    assert len(conversations) >= 30
    files = {r.file for r in conversations}
    assert {"tests/bundles.yaml", "tests/casework.yaml", "tests/everyday.yaml"} <= files
    names = " ".join(r.name for r in conversations)
    for bundle in ("新生儿", "企业开办", "退休", "身后", "二手房", "教育入学"):
        assert bundle in names
    for subject in ("缴费", "补正", "评价", "取消", "上一步", "修改", "帮助", "人工", "进度", "招呼"):
        assert subject in names, subject


def golden_folder(tmp_path: Path, **files: str) -> Path:
    """intents/ with only the golden files given (name -> YAML text)."""
    folder = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "tests").mkdir()
    for name, text in files.items():
        (folder / "tests" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


WRONG = """\
conversations:
  - name: 换领找到了
    steps:
      - say: 身份证过期了
        expect: {type: card, contains: 居民身份证换领, stage: offered}
  - name: 说过期却盼着补领
    steps:
      - say: 身份证过期了
        expect: {contains: 居民身份证补领}
  - name: 以为直接进了表单
    steps:
      - say: 身份证过期了
        expect: {stage: collect}
  - name: 点一个没有的按钮
    steps:
      - say: 身份证过期了
      - tap: 马上缴费
  - name: 没有办件就让工作人员受理
    steps:
      - staff: accepted
"""
UTTERANCES = """\
utterances:
  身份证过期了: 居民身份证换领
  今天天气怎么样: 居民身份证换领
"""
BROKEN = """\
conversations:
  - name: 一步两件事
    steps:
      - say: 你好
        tap: 我要办理
"""


def test_golden_tests_that_must_fail_do_with_a_readable_reason(tmp_path: Path, content: Content) -> None:
    folder = golden_folder(tmp_path, wrong=WRONG, utterances=UTTERANCES, broken=BROKEN)
    report = run_golden(folder, content)
    assert not report.passed
    by_name = {r.name: r for r in report.results}
    assert by_name["换领找到了"].passed and by_name["身份证过期了"].passed
    assert by_name["说过期却盼着补领"].message.startswith(
        "turn 1 (say 身份证过期了): expected 「居民身份证补领」 in the replies: '为您找到「居民身份证换领」。")
    assert by_name["以为直接进了表单"].message == "turn 1 (say 身份证过期了): expected stage collect, got offered"
    assert by_name["点一个没有的按钮"].message.startswith("turn 2 (tap 马上缴费): no option labelled 「马上缴费」")
    assert by_name["没有办件就让工作人员受理"].message == ("turn 1 (staff → accepted): the citizen has no case for "
                                                   "staff to move")
    assert by_name["今天天气怎么样"].message == "expected 居民身份证换领, got none"
    broken = by_name["(file)"]
    assert broken.file == "tests/broken.yaml" and "tests/broken.yaml:4:" in broken.message
    assert "a turn does exactly one of say, tap, upload, staff, pay" in broken.message
    table = report.table()
    assert "FAIL  conversation  说过期却盼着补领" in table and table.endswith("2 passed, 6 failed")


def test_python_m_bot_test_exits_1_on_a_failure(tmp_path: Path, capsys) -> None:
    folder = golden_folder(tmp_path, utterances=UTTERANCES)
    assert main(["test", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  utterance     今天天气怎么样" in out and "1 passed, 1 failed" in out
