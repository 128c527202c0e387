"""Everyday words read from intents/: sentences that mean a command, small talk, choices and dates typed freely,
phone refusals that name the problem, and `bot check` naming file and line of a broken phrase list."""
from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.content import load_content
from bot.dialogue.choices import choose
from bot.dialogue.commands import Command
from bot.dialogue.fields import DateRange, FieldSpec, FieldType
from bot.dialogue.talk import SmallTalk
from bot.dialogue.validation import Invalid, validate

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 27)


@pytest.mark.parametrize("text, meant", [
    ("不办了，取消", {Command.cancel}), ("算了不办了", {Command.cancel}), ("不想弄了", {Command.cancel}),
    ("那算了吧", {Command.cancel}), ("算了算了", {Command.cancel}), ("我要取消", {Command.cancel}),
    ("取消掉", {Command.cancel}), ("我算了一下账", set()), ("好的，我要申请", {Command.apply}), ("那就办吧", {Command.apply}),
    ("没有结婚证，跳过吧", {Command.skip}), ("这个没有", {Command.skip}),
    ("查进度", {Command.progress}), ("钱交了没", {Command.progress}), ("我的身份证办到哪一步了", {Command.progress}),
    ("提取公积金", set()), ("我打算了解一下公积金提取", set()), ("帮我计算了一下养老金", set()),
    ("取消息", set()), ("身份证多久能办好", set()), ("孩子出生了要办什么", set()),
    ("还是没有解决", {Command.rectified}), ("问题没解决啊", {Command.rectified}), ("已解决", set()),
    ("户口迁移的事还没解决怎么办理", set()),
])
def test_sentences_mean_commands_and_nothing_inside_unrelated_words(content, text: str, meant: set[Command]):
    assert content.phrases.meaning(text) == meant


@pytest.mark.parametrize("text, talk", [
    ("你好", SmallTalk.greeting), ("您好！", SmallTalk.greeting), ("在吗？", SmallTalk.presence),
    ("你好，在吗", SmallTalk.presence), ("谢谢啊", SmallTalk.thanks), ("好的，谢谢！", SmallTalk.thanks),
    ("谢谢，再见", SmallTalk.goodbye), ("Hello", SmallTalk.greeting),
    ("你好，身份证过期了咋办", None), ("谢谢你们帮我办身份证", None), ("在哪办", None),
])
def test_small_talk_is_the_whole_message(content, text: str, talk: SmallTalk | None):
    assert content.phrases.small_talk_of(text) is talk


def test_yes_and_no_to_a_question(content):
    answer = content.phrases.answer
    assert answer("是的") is True and answer("确定！") is True and answer("继续办") is False
    assert answer("张三") is None and answer("是的，不") is None


@pytest.mark.parametrize("typed, range_, meant", [
    ("2026-11-20", DateRange.past, date(2026, 11, 20)), ("2026.11.28", DateRange.any, date(2026, 11, 28)),
    ("2026年11月28号", DateRange.any, date(2026, 11, 28)), ("二〇二六年十一月二十八日", DateRange.any, date(2026, 11, 28)),
    ("11月28号", DateRange.any, date(2026, 11, 28)), ("11月28号", DateRange.past, date(2025, 11, 28)),
    ("1月5日", DateRange.future, date(2027, 1, 5)), ("十一月二十号", DateRange.past, date(2026, 11, 20)),
    ("上个月28号", DateRange.past, date(2026, 10, 28)), ("下个月3号", DateRange.future, date(2026, 12, 3)),
    ("前天", DateRange.past, date(2026, 11, 25)), ("昨天出生的", DateRange.past, date(2026, 11, 26)),
    ("去年11月28日", DateRange.past, date(2025, 11, 28)), ("１１月２０号", DateRange.past, date(2026, 11, 20)),
    ("2月30号", DateRange.any, None), ("上个月", DateRange.any, None), ("很久以前", DateRange.any, None),
    ("28", DateRange.any, None),
])
def test_dates_in_natural_forms(content, typed: str, range_: DateRange, meant: date | None):
    assert content.dates.parse(typed, TODAY, range_) == meant


def test_a_relative_date_still_checks_the_range(content):
    past = FieldSpec(key="f", label="日期", type=FieldType.date, prompt="?", date_range=DateRange.past)
    assert validate(past, "前天", TODAY, content.dates) == "2026-11-25"
    assert validate(past, "明天", TODAY, content.dates) == Invalid("error_date_past")


def test_choices_in_words(content):
    fields = content.scripts.library
    gender, delivery, township = fields["child_gender"], fields["delivery"], fields["township"]
    assert choose(gender, "男孩") == "男" and choose(gender, "是个闺女") == "女" and choose(gender, "女") == "女"
    assert choose(gender, "1") == "男" and choose(gender, "第二个") == "女" and choose(gender, "3") is None
    assert choose(gender, "男女都行") is None and choose(gender, "不知道") is None
    assert choose(delivery, "寄到家里吧") == "邮寄到家" and choose(delivery, "邮寄") == "邮寄到家"
    assert choose(delivery, "我自己去窗口拿") == "窗口自取" and choose(delivery, "不要邮寄，自取") is None
    assert choose(township, "河西") == "河西街道" and choose(township, "街道") is None


def test_phone_refusals_name_the_problem():
    phone = FieldSpec(key="p", label="手机号码", type=FieldType.phone, prompt="?")
    assert validate(phone, "12345678901", TODAY) == Invalid("error_phone_prefix", {"prefix": "12"})
    assert validate(phone, "1380013800", TODAY) == Invalid("error_phone_length", {"count": 10})
    assert validate(phone, "23800138000", TODAY) == Invalid("error_phone_first")
    assert validate(phone, "138abc38000", TODAY) == Invalid("error_phone")
    assert validate(phone, "１３８００１３８０００", TODAY) == "13800138000"


def test_every_phone_refusal_has_a_sentence(content):
    for key in ("error_phone", "error_phone_length", "error_phone_first", "error_phone_prefix"):
        assert getattr(content.prompts, key).format(count=10, prefix="12")


@pytest.fixture
def intents(tmp_path: Path) -> Path:
    target = tmp_path / "intents"
    shutil.copytree(ROOT / "intents", target)
    return target


def _line_of(text: str, row_part: str, after: str = "") -> int:
    """The 1-based line of the first row containing `row_part` after the first row containing `after`."""
    rows = text.splitlines()
    first = next(n for n, row in enumerate(rows) if after in row)
    return next(n for n, row in enumerate(rows[first:], first + 1) if row_part in row)


@pytest.mark.parametrize("file, old, new, reason", [
    ("dictionaries/phrases.yaml", "  progress:\n", "  progres:\n", "commands.progres"),
    ("dictionaries/phrases.yaml", "[跳过, 没有,", "[跳过, '', 没有,", "commands.skip.said.1"),
    ("dictionaries/dates.yaml", "前天: -2,", "前天: 两天前,", "days.前天"),
    ("scripts/fields.yaml", "      女: [女孩,", "      男孩子: [男娃]\n      女: [女孩,",
     "option_words name options that field child_gender does not have: 男孩子"),
])
def test_check_names_file_and_line_of_a_broken_word_list(intents: Path, capsys, file: str, old: str, new: str,
                                                         reason: str):
    path = intents / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(intents)]) == 1
    out = capsys.readouterr().out
    line = (_line_of(text, "option_words:", "key: child_gender") if file.endswith("fields.yaml")
            else _line_of(text, new.strip().split("\n")[0]))
    # the line of the entry, or of its first row where its value is a block below the key
    assert (f"{file}:{line}: " in out or f"{file}:{line + 1}: " in out) and reason in out, out


def test_a_script_with_words_for_an_option_it_lacks_is_reported(intents: Path):
    path = intents / "scripts" / "id_card_renewal.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      证件损坏: [", "      丢了: [丢失]\n      证件损坏: ["),
                    encoding="utf-8")
    content = load_content(intents, logging.getLogger("t"))
    assert any("id_card_renewal.yaml" in str(e) and "'丢了'" in str(e) for e in content.scripts.errors)
    assert "GA0020000" not in content.scripts.scripts
