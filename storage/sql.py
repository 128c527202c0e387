"""SQL repositories for cases (with outbox), profiles and blob metadata; SQLite and PostgreSQL."""
from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.cases import Case, CaseEvent, CaseMaterial, NewCase, StaleCase
from bot.dialogue.state import MaterialEntry
from bot.profiles import Profile
from storage import tables
from storage.cipher import FieldCipher, KeyedHash
from storage.direct_pg import DirectPostgres, DirectStatement


def _upsert(conn: AsyncConnection, table: sa.Table) -> Any:
    return upsert_for(conn.dialect.name, table)


def upsert_for(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


# Statements of the busy paths (a submit, its outbox delivery, an upload) are built once, with bound values
# named `<name>_`: building one per call (SQLAlchemy constructs and their cache keys) cost about a third of a
# one-statement call's CPU. The trailing underscore keeps a value's name off every column's name: an INSERT or
# UPDATE takes an execute parameter named like one of its table's columns as a value for that column.
def bound(name: str) -> sa.BindParameter[Any]:
    """A bound value, `name` + "_" in the parameters."""
    return sa.bindparam(f"{name}_")


class OneStatement:
    """Connections for work that is one statement (atomic by itself). On PostgreSQL it runs in autocommit, without
    BEGIN and COMMIT (or ROLLBACK) around it: one round trip instead of three, and each round trip's socket writes
    are most of a store call's CPU. On SQLite, where a transaction costs no round trip, it is a transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") \
            if engine.dialect.name == "postgresql" else None

    def __call__(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._autocommit.connect() if self._autocommit else self._engine.begin()


_CLAIM = tables.blobs.update().where(tables.blobs.c.blob_id.in_(sa.bindparam("blob_ids_", expanding=True))) \
    .values(claimed=True)
"""Marks uploads (`blob_ids_`) as belonging to something kept, so the draft purge leaves them alone."""
_CLAIM_ANY = tables.blobs.update().values(claimed=True).where(
    tables.blobs.c.blob_id == sa.any_(sa.bindparam("blob_ids_", type_=postgresql.ARRAY(sa.String()))))
"""_CLAIM for a direct statement: the ids as one array value instead of an expanding IN list."""


async def _claim(conn: AsyncConnection, blob_ids: list[str]) -> None:
    if blob_ids:
        await conn.execute(_CLAIM, {"blob_ids_": blob_ids})


def one_statement(*writes: Any) -> Any:
    """PostgreSQL: the writes as one statement, the others data-modifying CTEs of the last."""
    *before, last = writes
    return last.add_cte(*(write.cte(f"w{i}") for i, write in enumerate(before)))


class Atomic:
    """Writes that commit together, built once. On PostgreSQL one statement (the others data-modifying CTEs of the
    last), for OneStatement's autocommit: one round trip instead of BEGIN, each write and COMMIT. On SQLite the
    writes one by one, inside the transaction OneStatement opens there. The writes share one set of parameters."""

    def __init__(self, dialect: str, *writes: Any) -> None:
        self._statements = [one_statement(*writes)] if dialect == "postgresql" else list(writes)

    async def run(self, conn: AsyncConnection, params: dict[str, Any]) -> None:
        for statement in self._statements:
            await conn.execute(statement, params)


def _text(name: str) -> sa.BindParameter[Any]:
    """A bound string, typed: a value outside VALUES (in a SELECT or a function's arguments) needs its type."""
    return sa.bindparam(f"{name}_", type_=sa.String())


def _case_insert(number: Any) -> Any:
    """The submitted case under `number` (a bound value or an expression), the rest from bound values."""
    return tables.cases.insert().values(
        number=number, user_id=bound("user"), target=bound("target"), target_name=bound("target_name"),
        status="submitted", submitted_at=bound("at"), promised_date=bound("promised"),
        provisional_date=bound("provisional"), idempotency_key=bound("key"), payload=bound("payload"),
        updated_at=bound("at"), applicant_hash=bound("applicant"))


def _counting(dialect: str) -> Any:
    """The day's (`day_`) next number: its counter row upserted, returning the count."""
    counters = tables.case_counters
    count = upsert_for(dialect, counters).values(day=bound("day"), last=1)
    return count.on_conflict_do_update(index_elements=["day"], set_={"last": counters.c.last + 1}) \
        .returning(counters.c.last)


def _submitting(claim: Any | None) -> Any:
    """A submit as one PostgreSQL statement of data-modifying CTEs: the day's count, the case under its number,
    the `claim` of its uploads when given, and the `case.submitted` event; it returns the case's number."""
    seq = _counting("postgresql").cte("seq")
    number = sa.select(sa.func.concat(_text("prefix"), _text("day"),
                                      sa.func.lpad(sa.cast(seq.c.last, sa.Text), 6, "0"))).scalar_subquery()
    stored = _case_insert(number).returning(tables.cases.c.number).cte("stored")
    case_number = sa.select(stored.c.number).scalar_subquery()
    event: Any = tables.outbox.insert().values(
        case_number=case_number, event_type="case.submitted", created_at=bound("now"),
        payload=sa.func.json_build_object("number", case_number, "user", _text("user"), "target", _text("target"),
                                          "promised_date", _text("promised_iso"))) \
        .returning(tables.outbox.c.case_number)
    return event.add_cte(*([claim.cte("claim")] if claim is not None else []), stored)


_SUBMIT_DIRECT = DirectStatement(_submitting(None))
_SUBMIT_CLAIMING_DIRECT = DirectStatement(_submitting(_CLAIM_ANY))


class _CaseWrites:
    """A submit's writes through the engine: the day's next number (`prefix_` + `day_` + six digits), the case under
    it, the claim of its uploads (`blob_ids_`) and its outbox event. On PostgreSQL one statement (`_submitting`),
    so the counter's row is locked only while it runs; on SQLite the writes in order, inside the transaction
    OneStatement opens there. `run` returns the case's number."""

    def __init__(self, dialect: str) -> None:
        self._postgresql = dialect == "postgresql"
        if self._postgresql:
            self._plain: list[Any] = [_submitting(None)]
            self._claiming: list[Any] = [_submitting(_CLAIM)]
        else:
            self._count = _counting(dialect)  # the number first, in the same transaction
            case = _case_insert(bound("number"))
            event = tables.outbox.insert().values(case_number=bound("number"), event_type="case.submitted",
                                                  created_at=bound("now"), payload=bound("event"))
            self._plain, self._claiming = [case, event], [case, _CLAIM, event]

    async def run(self, conn: AsyncConnection, params: dict[str, Any]) -> str:
        statements = self._claiming if params["blob_ids_"] else self._plain
        if self._postgresql:
            return str((await conn.execute(statements[0], params)).scalar_one())
        seq = (await conn.execute(self._count, params)).scalar_one()
        number = f"{params['prefix_']}{params['day_']}{seq:06d}"
        params = {**params, "number_": number, "event_": {"number": number, "user": params["user_"],
                                                          "target": params["target_"],
                                                          "promised_date": params["promised_iso_"]}}
        for statement in statements:
            await conn.execute(statement, params)
        return number


class SqlCases:
    """CaseRepository over SQLAlchemy Core. The day's case number, the case and its outbox event commit together or
    not at all: a submit that fails (a retry whose case exists, a crash) takes no number, so the day's numbers
    have no gaps. On PostgreSQL with `direct`, a submit runs straight on asyncpg."""

    def __init__(self, engine: AsyncEngine, cipher: FieldCipher, hasher: KeyedHash, clock: Callable[[], datetime],
                 direct: DirectPostgres | None = None) -> None:
        self._engine, self._cipher, self._hasher, self._clock = engine, cipher, hasher, clock
        self._single, self._direct = OneStatement(engine), direct
        self._store = _CaseWrites(engine.dialect.name)

    async def submit(self, case: NewCase, number_prefix: str) -> Case:
        """The case, stored with its outbox event; the case stored before under the same idempotency key if there is
        one. That is rare (a retry after the answer was lost), so it is not looked up first: the insert finds it."""
        payload = {"item_codes": case.item_codes, "fields": case.fields,
                   "materials": [m.model_dump(mode="json") for m in case.materials]}
        params = {"prefix_": number_prefix, "day_": case.submitted_at.strftime("%Y%m%d"), "user_": case.user,
                  "target_": case.target, "target_name_": case.target_name, "at_": case.submitted_at,
                  "promised_": case.promised_date, "promised_iso_": case.promised_date.isoformat(),
                  "provisional_": case.provisional_date, "key_": case.idempotency_key,
                  "payload_": self._cipher.encrypt(json.dumps(payload, ensure_ascii=False)),
                  "applicant_": self._applicant_hash(case), "now_": self._clock(),
                  "blob_ids_": [m.entry.blob_id for m in case.materials if m.entry and m.entry.blob_id]}
        try:
            if self._direct is not None:
                number = await self._direct.value(_SUBMIT_CLAIMING_DIRECT if params["blob_ids_"] else _SUBMIT_DIRECT,
                                                  params)
            else:
                async with self._single() as conn:
                    number = await self._store.run(conn, params)
        except IntegrityError:  # this key's case exists (stored earlier, or by a request that won the race)
            existing = await self._by_key(case.idempotency_key)
            if existing is None:
                raise
            return existing
        return Case(**case.model_dump(), number=number, status="submitted")

    async def get(self, number: str) -> Case | None:
        return await self._one(tables.cases.c.number == number)

    async def list_for_targets(self, targets: list[str], statuses: list[str]) -> list[Case]:
        """Cases of these items/bundles in these states, oldest first (a staff queue)."""
        c = tables.cases.c
        async with self._single() as conn:
            rows = (await conn.execute(tables.cases.select().where(c.target.in_(targets), c.status.in_(statuses))
                                       .order_by(c.id))).mappings().all()
        return [self._to_case(r) for r in rows]

    async def events(self, number: str) -> list[CaseEvent]:
        async with self._single() as conn:
            rows = (await conn.execute(tables.case_events.select()
                                       .where(tables.case_events.c.case_number == number)
                                       .order_by(tables.case_events.c.id))).mappings().all()
        return [CaseEvent(at=r["at"], actor=r["actor"], from_status=r["from_status"],
                          to_status=r["to_status"], reason=r["reason"], detail=r["detail"]) for r in rows]

    async def transition(self, number: str, expected: str, event: CaseEvent,
                         materials: dict[str, MaterialEntry] | None = None) -> Case:
        c = tables.cases.c
        async with self._engine.begin() as conn:
            values: dict[str, object] = {"status": event.to_status, "updated_at": event.at}
            if materials:
                stored = (await conn.execute(sa.select(c.payload).where(c.number == number)
                                             .with_for_update())).scalar_one_or_none()
                if stored is None:
                    raise StaleCase(number)
                payload = json.loads(self._cipher.decrypt(stored))
                for material in payload["materials"]:
                    if material["key"] in materials:
                        material["entry"] = materials[material["key"]].model_dump(mode="json")
                values["payload"] = self._cipher.encrypt(json.dumps(payload, ensure_ascii=False))
                await _claim(conn, [m.blob_id for m in materials.values() if m.blob_id])
            moved = await conn.execute(tables.cases.update().where(c.number == number, c.status == expected)
                                       .values(**values))
            if moved.rowcount != 1:
                raise StaleCase(number)
            await conn.execute(tables.case_events.insert().values(case_number=number, **event.model_dump()))
            user = (await conn.execute(sa.select(c.user_id).where(c.number == number))).scalar_one()
            await conn.execute(tables.outbox.insert().values(
                case_number=number, event_type="case.status_changed", created_at=event.at,
                payload={"number": number, "user": user, "from": expected, "to": event.to_status,
                         "reason": event.reason, **({"fee_fen": event.detail["fee_fen"]}
                                                    if "fee_fen" in event.detail else {})}))
        case = await self.get(number)
        assert case is not None
        return case

    async def annotate(self, number: str, status: str, event: CaseEvent, outbox_type: str,
                       payload: dict[str, object], materials: list[CaseMaterial] | None = None) -> bool:
        """Record an event that does not change the status (e.g. result delivery) with its outbox message,
        replacing the given materials by key (e.g. a pledge's verification); False if the case is not (or no
        longer) in `status`."""
        c = tables.cases.c
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(c.user_id, c.payload).where(c.number == number, c.status == status)
                                      .with_for_update())).first()
            if row is None:
                return False
            user = row.user_id
            if materials:
                stored = json.loads(self._cipher.decrypt(row.payload))
                replaced = {m.key: m.model_dump(mode="json") for m in materials}
                stored["materials"] = [replaced.get(m["key"], m) for m in stored["materials"]]
                await conn.execute(tables.cases.update().where(c.number == number).values(
                    payload=self._cipher.encrypt(json.dumps(stored, ensure_ascii=False))))
            await conn.execute(tables.case_events.insert().values(case_number=number, **event.model_dump()))
            await conn.execute(tables.outbox.insert().values(case_number=number, event_type=outbox_type,
                                                             created_at=event.at,
                                                             payload={"number": number, "user": user, **payload}))
        return True

    async def receive_material(self, number: str, key: str) -> bool:
        c = tables.cases.c
        async with self._engine.begin() as conn:
            stored = (await conn.execute(sa.select(c.payload).where(c.number == number)
                                         .with_for_update())).scalar_one_or_none()
            if stored is None:
                return False
            payload = json.loads(self._cipher.decrypt(stored))
            entry = next((m.get("entry") for m in payload["materials"] if m["key"] == key), None)
            if not entry or entry.get("kind") != "deferred":
                return False
            entry["kind"] = "received"
            await conn.execute(tables.cases.update().where(c.number == number).values(
                payload=self._cipher.encrypt(json.dumps(payload, ensure_ascii=False)),
                updated_at=self._clock()))
        return True

    async def find_by_id_number(self, id_number: str) -> list[Case]:
        """Cases whose applicant has this 身份证号 (through the keyed hash; nothing is decrypted to search)."""
        async with self._single() as conn:
            rows = (await conn.execute(tables.cases.select()
                                       .where(tables.cases.c.applicant_hash == self._hasher.digest(id_number))
                                       .order_by(tables.cases.c.id))).mappings().all()
        return [self._to_case(r) for r in rows]

    def _applicant_hash(self, case: NewCase) -> str | None:
        number = case.fields.get("id_number")
        return self._hasher.digest(number) if number else None

    async def list_for_user(self, user: str) -> list[Case]:
        async with self._single() as conn:
            rows = (await conn.execute(tables.cases.select().where(tables.cases.c.user_id == user)
                                       .order_by(tables.cases.c.id.desc()))).mappings().all()
        return [self._to_case(r) for r in rows]

    async def _by_key(self, key: str) -> Case | None:
        return await self._one(tables.cases.c.idempotency_key == key)

    async def _one(self, where: sa.ColumnElement[bool]) -> Case | None:
        async with self._single() as conn:
            row = (await conn.execute(tables.cases.select().where(where))).mappings().first()
        return self._to_case(row) if row else None

    def _to_case(self, row: Any) -> Case:
        payload = json.loads(self._cipher.decrypt(row["payload"]))
        return Case(number=row["number"], status=row["status"], user=row["user_id"], target=row["target"],
                    target_name=row["target_name"], item_codes=payload["item_codes"], fields=payload["fields"],
                    materials=[CaseMaterial.model_validate(m) for m in payload["materials"]],
                    submitted_at=row["submitted_at"], promised_date=row["promised_date"],
                    provisional_date=row["provisional_date"], idempotency_key=row["idempotency_key"])


_PROFILE = sa.select(tables.profiles.c.payload).where(tables.profiles.c.user_id == bound("user"))


def _storing_profile(dialect: str) -> Any:
    """Stores a user's profile (`user_`, `payload_`, `now_`) over the one stored before."""
    insert = upsert_for(dialect, tables.profiles)
    return insert.values(user_id=bound("user"), payload=bound("payload"), updated_at=bound("now")) \
        .on_conflict_do_update(index_elements=["user_id"], set_={"payload": insert.excluded.payload,
                                                                 "updated_at": insert.excluded.updated_at})


_PROFILE_DIRECT = DirectStatement(_PROFILE)
_STORE_PROFILE_DIRECT = DirectStatement(_storing_profile("postgresql"))
_STORE_PROFILE_CLAIMING_DIRECT = DirectStatement(_storing_profile("postgresql").add_cte(_CLAIM_ANY.cte("claim")))


class SqlProfiles:
    """ProfileStore: a user's reusable answers and materials, encrypted. On PostgreSQL with `direct` (a
    conversation that applies reads the profile twice and stores it once), straight on asyncpg."""

    def __init__(self, engine: AsyncEngine, cipher: FieldCipher, clock: Callable[[], datetime],
                 direct: DirectPostgres | None = None) -> None:
        self._engine, self._cipher, self._clock, self._direct = engine, cipher, clock, direct
        self._single = OneStatement(engine)
        dialect = engine.dialect.name
        store = _storing_profile(dialect)
        self._store, self._store_claiming = Atomic(dialect, store), Atomic(dialect, _CLAIM, store)

    async def load(self, user: str) -> Profile:
        if self._direct is not None:
            stored = await self._direct.value(_PROFILE_DIRECT, {"user_": user})
        else:
            async with self._single() as conn:
                stored = (await conn.execute(_PROFILE, {"user_": user})).scalar_one_or_none()
        return Profile.model_validate_json(self._cipher.decrypt(stored)) if stored else Profile()

    async def save(self, user: str, profile: Profile) -> None:
        """Claim the profile's uploads and store it in one transaction: an upload is never claimed (kept past the
        draft purge) unless a stored profile refers to it."""
        blob_ids = [m.blob_id for m in profile.materials.values() if m.blob_id]
        params = {"user_": user, "payload_": self._cipher.encrypt(profile.model_dump_json()), "now_": self._clock(),
                  "blob_ids_": blob_ids}
        if self._direct is not None:
            await self._direct.execute(_STORE_PROFILE_CLAIMING_DIRECT if blob_ids else _STORE_PROFILE_DIRECT, params)
            return
        async with self._single() as conn:
            await (self._store_claiming if blob_ids else self._store).run(conn, params)
