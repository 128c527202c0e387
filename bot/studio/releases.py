"""Publishing and rolling back content versions, for the studio and the CLI alike: the gate runs first (errors
refuse), the live pointer moves, and every instance is told."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from bot.errors import Conflict, Invalid, NotFound
from bot.studio.gate import Gate, GateReport
from bot.studio.versions import ContentVersion, Files, Source, VersionStore, materialise, version_id

REPORTS_KEPT = 16  # a version's files never change: its checks' report is reused (a draft checked, then published)


class GateFailed(Invalid):
    """The version did not pass the checks; `report` says where and why."""

    detail = "内容检查未通过，不能发布。"

    def __init__(self, report: GateReport) -> None:
        super().__init__(f"{len(report.errors)} error(s) found by the checks")
        self.report = report


class Releases:
    def __init__(self, store: VersionStore, gate: Gate, cache: Path, notify: Callable[[], None]) -> None:
        self._store, self._gate, self._cache, self._notify = store, gate, cache, notify
        self._reports: OrderedDict[str, GateReport] = OrderedDict()

    async def check(self, files: Files) -> GateReport:
        """The gate over these files, in a worker thread (once per version and process)."""
        key = version_id(files)
        if (report := self._reports.get(key)) is None:
            loop = asyncio.get_running_loop()
            directory = await loop.run_in_executor(None, materialise, files, self._cache)
            report = self._reports[key] = await loop.run_in_executor(None, self._gate, directory)
            while len(self._reports) > REPORTS_KEPT:
                self._reports.popitem(last=False)
        return report

    async def store(self, files: Files, *, parent: str | None, source: Source, author: str,
                    message: str) -> ContentVersion:
        return await self._store.add(files, parent=parent, source=source, author=author, message=message)

    async def publish(self, version: str, actor: str) -> GateReport:
        """Make a stored version live once it passes the gate; raises NotFound, GateFailed, or Conflict when it is
        live already or the pointer moved meanwhile."""
        files = await self._store.files(version)
        if files is None:
            raise NotFound(f"no content version {version}")
        live = await self._store.live()
        if live is not None and live[0] == version:
            raise Conflict("this version is live already")
        report = await self.check(files)
        if not report.passed:
            raise GateFailed(report)
        await self._move(version, actor, live)
        return report

    async def _move(self, version: str, actor: str, live: tuple[str, int] | None) -> None:
        if await self._store.publish(version, actor, expect_generation=live[1] if live else None) is None:
            raise Conflict("another publish or rollback came first; look again")
        self._notify()

    async def publish_files(self, files: Files, *, source: Source, author: str,
                            message: str) -> tuple[ContentVersion, bool]:
        """Check, store and publish a complete set of files (the CLI's `content publish --from DIR`); the version and
        whether it was moved live (False: it was live already, so a pipeline may run this twice)."""
        report = await self.check(files)
        if not report.passed:
            raise GateFailed(report)
        live = await self._store.live()
        version = await self.store(files, parent=live[0] if live else None, source=source, author=author,
                                   message=message)
        if live is not None and live[0] == version.id:
            return version, False
        await self._move(version.id, author, live)
        return version, True

    async def rollback(self, actor: str) -> str:
        """The version live before the latest publish is live again (returned); Conflict when there is none."""
        previous = await self._store.rollback(actor)
        if previous is None:
            raise Conflict("no earlier published version to roll back to")
        self._notify()
        return previous
