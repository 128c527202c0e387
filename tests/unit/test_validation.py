"""Field validation a citizen meets: ID numbers (GB 11643), phones, dates, choices, masking."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from bot.dialogue.script import FieldSpec, FieldType
from bot.dialogue.validation import Invalid, id_number_problem, mask, validate

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
TODAY = date(2026, 11, 27)


def spec(kind: FieldType, **kw: object) -> FieldSpec:
    return FieldSpec(key="f", label="字段", type=kind, prompt="?", **kw)


def with_check(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
ids = st.builds(lambda area, born, seq: with_check(f"{area}{born:%Y%m%d}{seq:03d}"),
                st.sampled_from(["632802", "110105", "630102"]), birth_dates, st.integers(0, 999))


@given(ids)
def test_every_correct_id_number_is_accepted(number: str) -> None:
    assert validate(spec(FieldType.id_number), number.lower(), TODAY) == number


@given(ids, st.integers(0, 16), st.integers(1, 9))
def test_one_wrong_digit_is_caught(number: str, position: int, delta: int) -> None:
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    assert id_number_problem(wrong, TODAY) is not None


def test_id_number_problems_are_named() -> None:
    assert id_number_problem("12345", TODAY) == "error_id_length"
    assert id_number_problem(with_check("63280219991332001"), TODAY) == "error_id_birth"
    assert id_number_problem("11010519491231002X", TODAY) is None
    assert id_number_problem("110105194912310021", TODAY) == "error_id_checksum"


def test_a_birth_date_after_today_is_refused_by_the_given_day() -> None:
    born_today = with_check(f"632802{TODAY:%Y%m%d}001")
    assert id_number_problem(born_today, TODAY) is None
    assert id_number_problem(born_today, TODAY - timedelta(days=1)) == "error_id_birth"


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(ch)) if ch in "0123456789" else ch for ch in text)


def test_full_width_answers_are_kept_in_ascii_other_digits_are_refused() -> None:
    number = "11010519491231002X"
    assert validate(spec(FieldType.id_number), full_width(number), TODAY) == number
    assert validate(spec(FieldType.id_number), full_width(number.lower()) + "\u3000", TODAY) == number
    assert validate(spec(FieldType.id_number), arabic_indic(number), TODAY) == Invalid("error_id_length")
    assert id_number_problem(full_width(number), TODAY) == "error_id_length"  # checks take the stored ASCII form
    assert validate(spec(FieldType.phone), full_width("138-0013-8000"), TODAY) == "13800138000"
    assert validate(spec(FieldType.phone), arabic_indic("13800138000"), TODAY) == Invalid("error_phone")
    assert validate(spec(FieldType.phone), "\u09e7\u09e9\u09ee00138000", TODAY) == Invalid("error_phone")  # Bengali


def test_phone_numbers() -> None:
    phone = spec(FieldType.phone)
    assert validate(phone, "+86 138-0013-8000", TODAY) == "13800138000"
    assert isinstance(validate(phone, "1380013800", TODAY), Invalid)
    assert isinstance(validate(phone, "12800138000", TODAY), Invalid)


def test_dates_in_common_formats_and_ranges() -> None:
    past = spec(FieldType.date, date_range="past")
    assert validate(past, "2026年11月20日", TODAY) == "2026-11-20"
    assert validate(past, "2026/1/2", TODAY) == "2026-01-02"
    assert validate(past, "2026-12-01", TODAY) == Invalid("error_date_past")
    assert validate(past, "2026-02-30", TODAY) == Invalid("error_date")
    assert validate(spec(FieldType.date, date_range="future"), "2026-11-27", TODAY) == Invalid("error_date_future")


def test_names_choices_numbers_and_lengths() -> None:
    assert validate(spec(FieldType.name), "才让 卓玛", TODAY) == "才让卓玛"
    assert validate(spec(FieldType.name), "阿卜杜·热合曼", TODAY) == "阿卜杜·热合曼"
    assert isinstance(validate(spec(FieldType.name), "Tom", TODAY), Invalid)
    choice = spec(FieldType.choice, options=["男", "女"])
    assert validate(choice, "女", TODAY) == "女" and isinstance(validate(choice, "未知", TODAY), Invalid)
    number = spec(FieldType.number, min_value=1, max_value=100)
    assert validate(number, "050", TODAY) == "50"
    assert validate(number, "0", TODAY) == Invalid("error_number", {"min": 1, "max": 100})
    text = spec(FieldType.text, min_length=4, max_length=6)
    assert isinstance(validate(text, "abc", TODAY), Invalid) and validate(text, " abcd ", TODAY) == "abcd"


def test_masking_hides_the_middle_of_sensitive_values() -> None:
    assert mask(spec(FieldType.id_number, sensitive=True), "11010519491231002X") == "110105********002X"
    assert mask(spec(FieldType.phone, sensitive=True), "13800138000") == "138****8000"
    assert mask(spec(FieldType.name), "张三") == "张三"
