"""`python -m bot check` (bot/quality/checks.py): each check finds the problem it is for, at its file and line,
on a copy of intents/ broken in one place; the seed content has no errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.quality import checks
from bot.quality.checks import check_directory
from bot.quality.findings import Finding
from tests.chat import ROOT


def edit(path: Path, old: str, new: str) -> int:
    """Replace the one occurrence of `old`; return the line where `new` starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def found(directory: Path, code: str) -> list[Finding]:
    return [f for f in check_directory(directory) if f.code == code]


def test_the_seed_content_has_no_errors_nor_warnings_and_check_exits_0(capsys) -> None:
    assert main(["check", str(ROOT / "intents")]) == 0
    out = capsys.readouterr().out
    assert "0 errors" in out and "0 warnings" in out and "90 items" in out


def test_a_prompt_the_bot_no_longer_shows_is_a_warning_at_its_line(intents: Path, monkeypatch) -> None:
    """As when code stops using a prompt: the product team sees the text is dead before editing it."""
    monkeypatch.setattr(checks, "prompt_use", lambda key, shown=checks.prompt_use: None if key == "help" else shown(key))
    line = next(n for n, text in enumerate((intents / "scripts/prompts.yaml").read_text().splitlines(), 1)
                if text.startswith("help:"))
    unused = found(intents, "prompt-unused")
    assert [(f.severity, f.where) for f in unused] == [("warning", f"scripts/prompts.yaml:{line}")]


def test_an_alias_under_two_items_is_an_error_at_its_line(intents: Path) -> None:
    line = edit(intents / "catalog" / "yibao.yaml", "    aliases:\n      - 外地看病刷医保\n",
                "    aliases:\n      - 到龄退休\n      - 外地看病刷医保\n") + 1
    duplicates = found(intents, "duplicate-phrase")
    assert [(f.severity, f.where) for f in duplicates] == [("error", f"catalog/yibao.yaml:{line}")]
    assert "「到龄退休」" in duplicates[0].message and "职工正常退休申请 at catalog/renshe.yaml:" in duplicates[0].message


def test_a_variant_under_two_words_of_synonyms_yaml_is_an_error(intents: Path) -> None:
    line = edit(intents / "dictionaries" / "synonyms.yaml", "  护照: [普通护照, passport]", "  护照: [普通护照, passport, 驾照]")
    assert [(f.where, f.message) for f in found(intents, "duplicate-synonym")] == [
        (f"dictionaries/synonyms.yaml:{line}", "「驾照」 is a variant of both 驾驶证 and 护照: keep it under one word")]


def test_an_alias_the_matcher_finds_nothing_for_is_an_error(intents: Path) -> None:
    line = edit(intents / "catalog" / "yibao.yaml", "    aliases:\n      - 外地看病刷医保\n",
                "    aliases:\n      - 去哪办\n      - 外地看病刷医保\n") + 1
    assert [(f.where, f.message) for f in found(intents, "phrase-misrouted")] == [
        (f"catalog/yibao.yaml:{line}", "alias 「去哪办」 of 异地就医备案 finds nothing")]  # question words only


def test_an_alias_the_matcher_asks_back_about_is_a_warning(intents: Path) -> None:
    line = edit(intents / "catalog" / "yibao.yaml", "    aliases:\n      - 外地看病刷医保\n",
                "    aliases:\n      - 结婚登记\n      - 外地看病刷医保\n") + 1
    ambiguous = [(f.severity, f.where, f.message) for f in found(intents, "phrase-ambiguous")]
    assert ("warning", f"catalog/yibao.yaml:{line}", "alias 「结婚登记」 of 异地就医备案 asks back with 内地居民结婚登记") \
        in ambiguous


def test_a_step_listed_twice_is_unreachable(intents: Path) -> None:
    script = intents / "scripts" / "retirement.yaml"
    line = edit(script, "  - field: employer\n", "  - field: employer\n  - field: phone\n    prompt: 再留一个电话。\n") + 1
    assert [(f.where, f.message) for f in found(intents, "unreachable-step")] == [
        (f"scripts/retirement.yaml:{line}", "steps: field phone is already asked earlier in this script: "
                                             "this entry is never reached")]


def test_a_placeholder_the_bot_does_not_fill_is_an_error(intents: Path) -> None:
    prompts = intents / "scripts" / "prompts.yaml"
    line = edit(prompts, "no_match: 抱歉，没找到和「{text}」", "no_match: 抱歉{user}，没找到和「{text}」")
    line2 = edit(prompts, "cancelled: 已取消本次办理", "cancelled: 已取消「{name}」")
    assert [(f.where, f.message) for f in found(intents, "prompt-placeholder")] == [
        (f"scripts/prompts.yaml:{line}", "no_match: {user} is not filled in by the bot (it fills {text})"),
        (f"scripts/prompts.yaml:{line2}", "cancelled: the bot shows this prompt as it is: {name} would appear to "
                                          "citizens")]


def test_words_for_a_command_the_engine_never_reads_typed_are_an_error(intents: Path) -> None:
    line = edit(intents / "dictionaries" / "questions.yaml", "  withdraw: [", "  rate_skip: [不评了]\n  withdraw: [")
    assert [(f.where, f.message) for f in found(intents, "command-unread")] == [
        (f"dictionaries/questions.yaml:{line}", "commands: rate_skip: the engine never reads this command when typed, "
                                                "so these words do nothing")]


def test_a_word_to_type_in_an_answer_that_no_command_understands(intents: Path) -> None:
    line = edit(intents / "scripts" / "medical_abroad.yaml", "可以先就医，", "可以先就医，回复「开搞」，")
    assert [f.where for f in found(intents, "unknown-command-word")] == [f"scripts/medical_abroad.yaml:{line}"]


def test_a_field_prompt_may_ask_to_type_any_answer() -> None:
    # fields.yaml: 店铺名称 "回复「无」即可" is an answer to the field, not a command
    assert found(ROOT / "intents", "unknown-command-word") == []


@pytest.mark.parametrize("bad, mark", [("，出院前", ",出院前"), ("出院前补办备案，", "出院前补办备案。，"),
                                       ("可以先就医，", "可以先就医...")])
def test_ascii_and_doubled_punctuation_in_chinese_text(intents: Path, bad: str, mark: str) -> None:
    text = "急诊来不及备案的，可以先就医，出院前补办备案，或回来后办理零星报销。"
    line = edit(intents / "scripts" / "medical_abroad.yaml", text, text.replace(bad, mark, 1))
    assert [f.where for f in found(intents, "punctuation")] == [f"scripts/medical_abroad.yaml:{line}"]


def test_a_web_address_keeps_its_ascii_marks_and_the_text_around_it_is_checked(intents: Path) -> None:
    text = "急诊来不及备案的，可以先就医，出院前补办备案，或回来后办理零星报销。"
    link = "详见http://ybj.example.gov.cn/item?id=7&from=bot，"
    line = edit(intents / "scripts" / "medical_abroad.yaml", text, link + text)
    assert found(intents, "punctuation") == []  # "?" and "=" belong to the link: changing them would break it
    edit(intents / "scripts" / "medical_abroad.yaml", link, link + "能办吗?")
    assert [f.where for f in found(intents, "punctuation")] == [f"scripts/medical_abroad.yaml:{line}"]


def test_content_that_does_not_load_is_reported_with_its_line_and_blocks(intents: Path, capsys) -> None:
    line = edit(intents / "catalog" / "yibao.yaml", "  - code: YB0020000\n", "  - code: yb0020000\n")
    assert main(["check", str(intents)]) == 1
    out = capsys.readouterr().out
    assert f"catalog/yibao.yaml:{line}: items.1.code: String should match pattern" in out
    assert main(["check", str(intents), "--json"]) == 1
    first = json.loads(capsys.readouterr().out)[0]
    assert (first["severity"], first["where"], first["code"]) == ("error", f"catalog/yibao.yaml:{line}", "invalid")
    assert "bundle newborn names unknown items ['YB0010000']" in out  # the file's other items are missing too
    assert out.splitlines()[-1] == "3 errors, 0 warnings"


def test_a_script_naming_an_unknown_field_is_an_error(intents: Path) -> None:
    edit(intents / "scripts" / "retirement.yaml", "  - field: employer\n", "  - field: employer_name\n")
    assert [(f.severity, f.where, f.message) for f in found(intents, "script")] == [
        ("error", "scripts/retirement.yaml:1", "unknown field 'employer_name'")]


def test_two_items_of_one_official_name_are_only_a_warning(intents: Path) -> None:
    line = edit(intents / "catalog" / "gongan.yaml", "name: 居民身份证补领", "name: 居民身份证换领")
    assert [(f.severity, f.where) for f in found(intents, "duplicate-phrase")] == [
        ("warning", f"catalog/gongan.yaml:{line}")]
