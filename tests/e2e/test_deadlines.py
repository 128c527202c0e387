"""Deadlines in working days through HTTP, around 国庆 and 春节 2026 (chinese-calendar data: holidays skipped,
调休 weekend days counted) and into 2027 (no official data yet: provisional), with the staff queue's flags."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.e2e.casework import auth, move, submitted_renewal

# 2026 in chinese-calendar 1.11: 春节 Feb 15-23 with 调休 Saturdays Feb 14 and 28; 中秋 Sep 25-27;
# 国庆 Oct 1-7 with 调休 Sunday Sep 20 and Saturday Oct 10. 居民身份证换领 promises 15 working days; pre-review 1.


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=timezone.utc)  # 10:00 in 德令哈


async def submitted_on(day: str, clock, chat) -> str:
    clock.now = at(day)
    return await submitted_renewal(chat)


async def deadlines(client, tokens, number: str) -> dict:
    queue = await (await client.get("/api/v1/staff/cases", headers=auth(tokens["clerk"]))).json()
    return next(c for c in queue["cases"] if c["number"] == number)["deadlines"]


async def flags(client, tokens, clock, number: str, day: str) -> tuple[bool, bool]:
    """(overdue, due_soon) of the case in the staff queue on `day`."""
    clock.now = at(day)
    d = await deadlines(client, tokens, number)
    return d["overdue"], d["due_soon"]


async def test_national_day_is_skipped_and_its_working_saturday_counted(client, chat_factory, tokens, clock) -> None:
    citizen = chat_factory("d1")
    number = await submitted_on("2026-09-30", clock, citizen)
    assert "预计 2026-10-27 前办结" in citizen.text() and "尚未公布" not in citizen.text()
    assert await deadlines(client, tokens, number) == {
        "pre_review_due": "2026-10-08", "promised": "2026-10-27", "provisional": False,
        "overdue": False, "due_soon": True}  # the next working day after Sep 30 is Oct 8
    mine = await (await client.get(f"/api/v1/cases/{number}", params={"user": "d1"})).json()
    assert (mine["promised_date"], mine["promised_date_provisional"]) == ("2026-10-27", False)
    assert await flags(client, tokens, clock, number, "2026-10-05") == (False, True)  # mid-holiday: not late
    assert await flags(client, tokens, clock, number, "2026-10-08") == (False, True)
    assert await flags(client, tokens, clock, number, "2026-10-09") == (True, False)

    assert (await move(client, tokens["clerk"], number, to="pre_reviewed"))[0] == 200  # now the promised date counts
    assert await flags(client, tokens, clock, number, "2026-10-24") == (False, False)  # Sat; next workday Mon 26
    assert await flags(client, tokens, clock, number, "2026-10-26") == (False, True)
    assert await flags(client, tokens, clock, number, "2026-10-28") == (True, False)

    late = await submitted_on("2026-10-09", clock, chat_factory("d2"))  # Friday before the 调休 Saturday
    assert (await deadlines(client, tokens, late))["pre_review_due"] == "2026-10-10"
    assert await flags(client, tokens, clock, late, "2026-10-11") == (True, False)  # Sunday: Saturday was a workday


async def test_working_sunday_before_national_day(client, chat_factory, tokens, clock) -> None:
    number = await submitted_on("2026-09-18", clock, chat_factory("d3"))
    d = await deadlines(client, tokens, number)
    assert (d["pre_review_due"], d["promised"]) == ("2026-09-20", "2026-10-15")  # 中秋 and 国庆 skipped
    assert await flags(client, tokens, clock, number, "2026-09-19") == (False, True)
    assert await flags(client, tokens, clock, number, "2026-09-21") == (True, False)


async def test_spring_festival_is_skipped_and_its_working_saturdays_counted(client, chat_factory, tokens,
                                                                            clock) -> None:
    citizen = chat_factory("d4")
    number = await submitted_on("2026-02-13", clock, citizen)
    assert "预计 2026-03-12 前办结" in citizen.text()
    d = await deadlines(client, tokens, number)
    assert (d["pre_review_due"], d["promised"], d["provisional"]) == ("2026-02-14", "2026-03-12", False)
    mine = await (await client.get(f"/api/v1/cases/{number}", params={"user": "d4"})).json()
    assert mine["promised_date"] == "2026-03-12"
    assert await flags(client, tokens, clock, number, "2026-02-15") == (True, False)

    on_saturday = await submitted_on("2026-02-14", clock, chat_factory("d5"))  # submitted on the 调休 Saturday
    assert (await deadlines(client, tokens, on_saturday))["pre_review_due"] == "2026-02-24"
    assert await flags(client, tokens, clock, on_saturday, "2026-02-20") == (False, True)  # holiday: not late
    assert await flags(client, tokens, clock, on_saturday, "2026-02-24") == (False, True)
    assert await flags(client, tokens, clock, on_saturday, "2026-02-25") == (True, False)


async def test_a_deadline_in_a_year_without_holiday_data_is_provisional(client, chat_factory, tokens, clock) -> None:
    citizen = chat_factory("d6")
    number = await submitted_on("2026-12-15", clock, citizen)
    assert "预计 2027-01-05 前办结" in citizen.text() and "明年节假日安排尚未公布" in citizen.text()
    assert await deadlines(client, tokens, number) == {
        "pre_review_due": "2026-12-16", "promised": "2027-01-05", "provisional": True,
        "overdue": False, "due_soon": True}
    mine = await (await client.get(f"/api/v1/cases/{number}", params={"user": "d6"})).json()
    assert (mine["promised_date"], mine["promised_date_provisional"]) == ("2027-01-05", True)


async def test_days_count_from_the_day_in_china_not_in_utc(client, chat_factory, tokens, clock) -> None:
    """07:30 on Monday in 德令哈 is still Sunday in UTC; the day of submission is Monday all the same."""
    clock.now = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)
    citizen = chat_factory("d9")
    number = await submitted_renewal(citizen)
    assert (await deadlines(client, tokens, number))["pre_review_due"] == "2026-12-01"
    assert await flags(client, tokens, clock, number, "2026-12-01") == (False, True)
    clock.now = datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc)  # 00:30 on Wednesday in 德令哈
    assert (await deadlines(client, tokens, number))["overdue"] is True
