"""Content versions on SQLAlchemy Core (SQLite, PostgreSQL): immutable snapshots, the publication history and the
live pointer, moved with a generation check so two concurrent moves cannot both win."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.studio.versions import ContentVersion, Files, Publication, Source, version_id
from storage import tables

_LIVE = 1  # the one row of content_live
_V, _P, _L = tables.content_versions.c, tables.content_publications.c, tables.content_live.c
_META = (_V.id, _V.parent, _V.source, _V.author, _V.message, _V.created_at, _V.published_at)


def _version(row: sa.RowMapping) -> ContentVersion:
    return ContentVersion(id=row["id"], parent=row["parent"], source=row["source"], author=row["author"],
                          message=row["message"], created_at=row["created_at"],
                          published_at=row["published_at"])


class SqlContentVersions:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._engine, self._clock = engine, clock

    async def add(self, files: Files, *, parent: str | None, source: Source, author: str,
                  message: str) -> ContentVersion:
        key = version_id(files)
        if (stored := await self.get(key)) is not None:
            return stored
        try:
            async with self._engine.begin() as conn:
                await conn.execute(tables.content_versions.insert().values(
                    id=key, parent=parent, source=source, author=author, message=message, created_at=self._clock(),
                    files=json.dumps(files, ensure_ascii=False, sort_keys=True)))
        except IntegrityError:  # another instance stored the same files meanwhile
            pass
        stored = await self.get(key)
        assert stored is not None
        return stored

    async def get(self, version: str) -> ContentVersion | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(*_META).where(_V.id == version))).mappings().first()
        return _version(row) if row else None

    async def files(self, version: str) -> Files | None:
        async with self._engine.connect() as conn:
            text = (await conn.execute(sa.select(_V.files).where(_V.id == version))).scalar_one_or_none()
        return json.loads(text) if text is not None else None

    async def recent(self, limit: int = 100) -> list[ContentVersion]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(*_META).order_by(_V.created_at.desc(), _V.id).limit(limit))
                    ).mappings().all()
        return [_version(r) for r in rows]

    async def live(self) -> tuple[str, int] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(_L.version_id, _L.generation).where(_L.id == _LIVE))).first()
        return (row.version_id, row.generation) if row else None

    async def publish(self, version: str, actor: str, *, expect_generation: int | None) -> int | None:
        try:
            async with self._engine.begin() as conn:
                moved, previous = await self._move(conn, version, expect_generation)
                if not moved:
                    await conn.rollback()
                    return None
                await self._record(conn, version, previous, "publish", actor)
                return (expect_generation or 0) + 1
        except IntegrityError:  # the first publish raced another one
            return None

    async def rollback(self, actor: str) -> str | None:
        while True:
            live = await self.live()
            if live is None:
                return None
            async with self._engine.begin() as conn:
                latest = (await conn.execute(
                    sa.select(_P.id, _P.version_id, _P.previous_id)
                    .where(_P.action == "publish", _P.undone_at.is_(None)).order_by(_P.id.desc()).limit(1))).first()
                if latest is None or latest.previous_id is None:
                    return None
                if not (await self._move(conn, latest.previous_id, live[1]))[0]:
                    await conn.rollback()
                    continue  # another move came first: look again
                await conn.execute(tables.content_publications.update().where(_P.id == latest.id)
                                   .values(undone_at=self._clock()))
                await self._record(conn, latest.previous_id, live[0], "rollback", actor)
                return str(latest.previous_id)

    async def history(self, limit: int = 50) -> list[Publication]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(tables.content_publications).order_by(_P.id.desc()).limit(limit))
                    ).mappings().all()
        return [Publication(version_id=r["version_id"], previous_id=r["previous_id"], action=r["action"],
                            actor=r["actor"], at=r["at"]) for r in rows]

    async def _move(self, conn: AsyncConnection, version: str, expect: int | None) -> tuple[bool, str | None]:
        """Point content_live at `version` if it is still at generation `expect`: (whether it moved, the version
        it pointed at before, None the first time)."""
        if expect is None:
            await conn.execute(tables.content_live.insert().values(id=_LIVE, version_id=version, generation=1))
            return True, None
        previous = (await conn.execute(sa.select(_L.version_id).where(_L.id == _LIVE))).scalar_one_or_none()
        moved = await conn.execute(tables.content_live.update().where(_L.id == _LIVE, _L.generation == expect)
                                   .values(version_id=version, generation=expect + 1))
        return moved.rowcount == 1, previous

    async def _record(self, conn: AsyncConnection, version: str, previous: str | None, action: str,
                      actor: str) -> None:
        now = self._clock()
        await conn.execute(tables.content_publications.insert().values(
            version_id=version, previous_id=previous, action=action, actor=actor, at=now))
        await conn.execute(tables.content_versions.update().where(_V.id == version, _V.published_at.is_(None))
                           .values(published_at=now))
