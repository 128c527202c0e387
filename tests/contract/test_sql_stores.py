"""Case and profile stores: one contract, run against SQLite and PostgreSQL (blob stores: test_blob_stores)."""
from __future__ import annotations

import asyncio
import base64
import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.clock import utc_now
from bot.dialogue.state import MaterialEntry
from bot.profiles import Profile
from storage import tables
from storage.cipher import FieldCipher
from storage.direct_pg import DirectPostgres
from storage.migrate import upgrade
from storage.sql import SqlCases, SqlProfiles
from tests.contract.cases import HASH, NOW, new_case

async def test_migrations_are_repeatable(db: AsyncEngine) -> None:
    await upgrade(db)  # second run changes nothing
    async with db.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    assert {"cases", "case_counters", "outbox", "profiles", "blobs", "alembic_version"} <= set(names)


async def test_case_numbers_are_readable_and_count_per_day(db: AsyncEngine, cipher: FieldCipher) -> None:
    cases = SqlCases(db, cipher, HASH, utc_now)
    first = await cases.submit(new_case("k1"), "DLH")
    second = await cases.submit(new_case("k2"), "DLH")
    next_day = await cases.submit(new_case("k3", NOW + timedelta(days=1)), "DLH")
    assert (first.number, second.number, next_day.number) == (
        "DLH20261127000001", "DLH20261127000002", "DLH20261128000001")
    loaded = await cases.get(first.number)
    assert loaded is not None and loaded.fields == first.fields and loaded.materials == first.materials
    assert loaded.submitted_at == NOW
    assert [c.number for c in await cases.list_for_user("u1")][0] == next_day.number


async def test_same_idempotency_key_gives_one_case_and_one_event(db: AsyncEngine, cipher: FieldCipher) -> None:
    cases = SqlCases(db, cipher, HASH, utc_now)
    results = await asyncio.gather(*(cases.submit(new_case("same"), "DLH") for _ in range(5)))
    assert len({c.number for c in results}) == 1
    async with db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.cases))).scalar_one() == 1
        events = (await conn.execute(tables.outbox.select())).mappings().all()
    assert [(e["event_type"], e["case_number"]) for e in events] == [("case.submitted", results[0].number)]


async def test_a_retried_submit_takes_no_number(db: AsyncEngine, cipher: FieldCipher) -> None:
    """Staff read the day's numbers as a sequence: a retry (the citizen's answer was lost) or a failed write
    must not leave a hole in it."""
    cases = SqlCases(db, cipher, HASH, utc_now)
    first = await cases.submit(new_case("k1"), "DLH")
    assert (await cases.submit(new_case("k1"), "DLH")).number == first.number
    broken = new_case("k2").model_copy(update={"target_name": "名" * 201})  # over the column's length
    if db.dialect.name == "postgresql":  # SQLite does not enforce a VARCHAR's length
        with pytest.raises(sa.exc.DBAPIError):
            await cases.submit(broken, "DLH")
    second = await cases.submit(new_case("k3"), "DLH")
    assert (first.number, second.number) == ("DLH20261127000001", "DLH20261127000002")
    async with db.connect() as conn:
        events = (await conn.execute(tables.outbox.select().order_by(tables.outbox.c.id))).mappings().all()
    assert [e["payload"] for e in events] == [
        {"number": n, "user": "u1", "target": "GA0020000", "promised_date": "2026-12-18"}
        for n in (first.number, second.number)]


async def test_concurrent_submits_get_distinct_numbers(db: AsyncEngine, cipher: FieldCipher) -> None:
    cases = SqlCases(db, cipher, HASH, utc_now)
    results = await asyncio.gather(*(cases.submit(new_case(f"k{i}"), "DLH") for i in range(20)))
    assert len({c.number for c in results}) == 20


async def test_personal_data_is_encrypted_at_rest(db: AsyncEngine, cipher: FieldCipher, direct: DirectPostgres | None
                                                  ) -> None:
    await SqlCases(db, cipher, HASH, utc_now).submit(new_case("enc"), "DLH")
    await SqlProfiles(db, cipher, utc_now, direct).save("u1", Profile(fields={"phone": "13800138000"}))
    async with db.connect() as conn:
        raw = " ".join(str(v) for row in (await conn.execute(tables.cases.select())).all() for v in row)
        raw += " ".join(str(v) for row in (await conn.execute(tables.profiles.select())).all() for v in row)
    assert "11010519491231002X" not in raw and "张三" not in raw and "13800138000" not in raw
    with pytest.raises(ValueError, match="not configured"):  # another key cannot read it
        await SqlCases(db, FieldCipher(os.urandom(32)), HASH, utc_now).get("DLH20261127000001")


async def test_profiles_round_trip_and_overwrite(db: AsyncEngine, cipher: FieldCipher, direct: DirectPostgres | None
                                                 ) -> None:
    profiles = SqlProfiles(db, cipher, utc_now, direct)
    assert await profiles.load("nobody") == Profile()
    first = Profile(fields={"applicant_name": "张三"},
                    materials={"id_photo": MaterialEntry(kind="upload", blob_id="ab" * 32, filename="p.png")})
    await profiles.save("u1", first)
    assert await profiles.load("u1") == first
    await profiles.save("u1", Profile(fields={"applicant_name": "李四"}))
    assert (await profiles.load("u1")).fields == {"applicant_name": "李四"}


def test_cipher_key_from_config_or_dev_file(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    assert FieldCipher.from_config(key, [], tmp_path / "unused").decrypt(
        FieldCipher(base64.b64decode(key)).encrypt("秘密")) == "秘密"
    dev = FieldCipher.from_config("", [], tmp_path / "var" / "field.key")
    again = FieldCipher.from_config("", [], tmp_path / "var" / "field.key")
    assert again.decrypt(dev.encrypt("同一把钥匙")) == "同一把钥匙"
    assert oct((tmp_path / "var" / "field.key").stat().st_mode & 0o777) == "0o600"


async def test_cases_are_found_by_id_number_through_the_keyed_hash(db: AsyncEngine, cipher: FieldCipher) -> None:
    cases = SqlCases(db, cipher, HASH, utc_now)
    first = await cases.submit(new_case("a"), "DLH")
    assert [c.number for c in await cases.find_by_id_number("11010519491231002x")] == [first.number]
    assert await cases.find_by_id_number("632802199001011234") == []
    async with db.connect() as conn:
        stored = (await conn.execute(sa.select(tables.cases.c.applicant_hash))).scalar_one()
    assert stored == HASH.digest("11010519491231002X") and "110105" not in stored


async def test_upgrade_keeps_data_written_by_the_first_schema(database_url: str, cipher: FieldCipher) -> None:
    engine = create_async_engine(database_url)
    await upgrade(engine, "0001")
    payload = cipher.encrypt('{"item_codes": ["GA0020000"], "fields": {"applicant_name": "王五"}, "materials": []}')
    async with engine.begin() as conn:
        await conn.execute(sa.text(
            "INSERT INTO cases (number, user_id, target, target_name, status, submitted_at, promised_date,"
            " provisional_date, idempotency_key, payload) VALUES ('DLH20261120000007', 'old-user', 'GA0020000',"
            " '居民身份证换领', 'submitted', :at, :due, false, 'old-key', :payload)"),
            {"at": NOW, "due": date(2026, 12, 11), "payload": payload})
    await upgrade(engine)
    case = await SqlCases(engine, cipher, HASH, utc_now).get("DLH20261120000007")
    assert case is not None and case.fields == {"applicant_name": "王五"} and case.user == "old-user"
    async with engine.connect() as conn:
        updated = (await conn.execute(sa.select(tables.cases.c.updated_at))).scalar_one()
    assert updated.replace(tzinfo=timezone.utc) == NOW
    await engine.dispose()


def test_rotated_keys_still_decrypt_until_rewritten() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    old_text = FieldCipher(old_key).encrypt("旧数据")
    rotated = FieldCipher(new_key, [old_key])
    assert rotated.decrypt(old_text) == "旧数据" and not rotated.is_current(old_text)
    assert rotated.is_current(rotated.encrypt("新数据"))
    with pytest.raises(ValueError, match="not configured"):
        FieldCipher(new_key).decrypt(old_text)


async def test_rotation_rewrites_old_ciphertexts(db: AsyncEngine, direct: DirectPostgres | None) -> None:
    from storage.rotation import rotate_keys
    old_key, new_key = os.urandom(32), os.urandom(32)
    await SqlCases(db, FieldCipher(old_key), HASH, utc_now).submit(new_case("r"), "DLH")
    await SqlProfiles(db, FieldCipher(old_key), utc_now, direct).save("u1", Profile(fields={"phone": "13800138000"}))
    rotated = FieldCipher(new_key, [old_key])
    assert await rotate_keys(db, rotated) == {"cases": 1, "profiles": 1}
    assert await rotate_keys(db, rotated) == {"cases": 0, "profiles": 0}
    only_new = FieldCipher(new_key)
    assert (await SqlCases(db, only_new, HASH, utc_now).get("DLH20261127000001")).fields["applicant_name"] == "张三"
    assert (await SqlProfiles(db, only_new, utc_now, direct).load("u1")).fields == {"phone": "13800138000"}


async def test_transitions_are_recorded_and_a_stale_move_writes_nothing(db: AsyncEngine, cipher: FieldCipher) -> None:
    from bot.cases import CaseEvent, StaleCase
    cases = SqlCases(db, cipher, HASH, utc_now)
    number = (await cases.submit(new_case("t"), "DLH")).number

    def event(to: str) -> CaseEvent:
        return CaseEvent(at=NOW, actor="staff:1", from_status="submitted", to_status=to, reason="r")

    results = await asyncio.gather(cases.transition(number, "submitted", event("pre_reviewed")),
                                   cases.transition(number, "submitted", event("returned")),
                                   return_exceptions=True)
    assert sum(isinstance(r, StaleCase) for r in results) == 1
    assert [e.to_status for e in await cases.events(number)] == [(await cases.get(number)).status]
    async with db.connect() as conn:
        kinds = (await conn.execute(sa.select(tables.outbox.c.event_type).order_by(tables.outbox.c.id))).scalars().all()
    assert kinds == ["case.submitted", "case.status_changed"]


async def test_deferred_material_is_received_once(db: AsyncEngine, cipher: FieldCipher) -> None:
    cases = SqlCases(db, cipher, HASH, utc_now)
    number = (await cases.submit(new_case("m"), "DLH")).number
    assert await cases.receive_material(number, "id_photo") is True
    assert await cases.receive_material(number, "id_photo") is False
    assert await cases.receive_material("DLH19990101000001", "id_photo") is False
    assert (await cases.get(number)).materials[0].entry.kind == "received"


async def test_annotations_keep_the_status_and_need_it(db: AsyncEngine, cipher: FieldCipher) -> None:
    from bot.cases import CaseEvent
    cases = SqlCases(db, cipher, HASH, utc_now)
    number = (await cases.submit(new_case("a"), "DLH")).number
    note = CaseEvent(at=NOW, actor="staff:1", from_status="submitted", to_status="submitted", detail={"x": 1})
    assert await cases.annotate(number, "completed", note, "case.delivered", {}) is False
    assert await cases.annotate(number, "submitted", note, "case.delivered", {"delivery": "window"}) is True
    assert (await cases.get(number)).status == "submitted" and (await cases.events(number))[-1].detail == {"x": 1}
    async with db.connect() as conn:
        payloads = (await conn.execute(sa.select(tables.outbox.c.payload)
                                       .where(tables.outbox.c.event_type == "case.delivered"))).scalars().all()
    assert payloads == [{"number": number, "user": "u1", "delivery": "window"}]


async def test_a_moment_without_zone_is_stored_as_utc_in_china_time(db: AsyncEngine, cipher: FieldCipher,
                                                                    direct: DirectPostgres | None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A server in China time must not shift a naive moment by eight hours, on either path to the database."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        await SqlProfiles(db, cipher, lambda: datetime(2026, 11, 27, 9, 30), direct).save("u1", Profile())
    finally:
        monkeypatch.undo()
        time.tzset()
    async with db.connect() as conn:
        stored = (await conn.execute(sa.select(tables.profiles.c.updated_at))).scalar_one()
    assert stored == datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
