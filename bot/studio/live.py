"""The live content of one instance: follows the live pointer of the version store, builds a version's content in
a worker thread (never on the event loop) and swaps it into the holder; keeps the last few versions loaded so a
form under way can finish on the version it started with.

Every instance switches within `poll_seconds` + build time of a publish: a publish notifies the others at once
(Redis pub/sub, or in process in the embedded mode) and each also polls the pointer as the safety net.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from bot.cancellation import raise_if_cancelling
from bot.content import Content
from bot.content_errors import ContentInvalid
from bot.content_holder import ContentHolder
from bot.ports import Wakeups
from bot.studio.versions import Files, VersionStore, materialise, prune, read_directory, version_id

CACHE_DAYS = 7  # versions written to the cache folder and not used for this long are removed at start

Build = Callable[[Path], Content]  # load_content with this instance's embedder; raises ContentInvalid


class LiveContent:
    def __init__(self, holder: ContentHolder, store: VersionStore, build: Build, cache: Path, log: logging.Logger,
                 *, keep: int = 2) -> None:
        self._holder, self._store, self._build, self._cache, self._log = holder, store, build, cache, log
        self._keep = max(keep, 1)
        self._loaded: OrderedDict[str, Content] = OrderedDict()
        self._building: dict[str, asyncio.Task[Content]] = {}
        self._switching = asyncio.Lock()
        self._serving = holder.current.version  # the live version's id as this instance last switched to it
        self._broken: set[str] = set()  # versions that do not load with this release's code: not tried again

    def current(self) -> tuple[str, Content]:
        """The live version this instance serves now, and its content."""
        return self._serving, self._holder.current

    def loaded(self, version: str) -> Content | None:
        """A version this instance has built and still keeps (the engine's `loaded`)."""
        return self._loaded.get(version)

    async def content_of(self, version: str) -> Content:
        """The content of a stored version, built once (in a worker thread) and kept among the last `keep`.
        Raises KeyError for an unknown version, ContentInvalid for one that does not load."""
        if (content := self._loaded.get(version)) is not None:
            self._loaded.move_to_end(version)
            return content
        task = self._building.get(version)
        if task is None:
            task = self._building[version] = asyncio.get_running_loop().create_task(self._load(version))
            task.add_done_callback(lambda _: self._building.pop(version, None))
        return await asyncio.shield(task)

    async def _load(self, version: str) -> Content:
        files = await self._store.files(version)
        if files is None:
            raise KeyError(version)
        content = await self.build_files(files)
        self._remember(content)
        return content

    async def build_files(self, files: Files) -> Content:
        """Content of these files, built in a worker thread (not kept: drafts are tried this way)."""
        loop = asyncio.get_running_loop()
        directory = await loop.run_in_executor(None, materialise, files, self._cache)
        content = await loop.run_in_executor(None, self._build, directory)
        return dataclasses.replace(content, version=version_id(files))

    def _remember(self, content: Content) -> None:
        self._loaded[content.version] = content
        self._loaded.move_to_end(content.version)
        self._trim({self._serving, content.version})  # the live one and the one about to be

    def _trim(self, protected: set[str]) -> None:
        """Forget the least recently used versions beyond `keep`, never a protected one."""
        while len(self._loaded) > max(self._keep, len(protected)):
            oldest = next(v for v in self._loaded if v not in protected)
            del self._loaded[oldest]  # a turn still running keeps its own reference

    async def refresh(self) -> bool:
        """Switch to the store's live version if it is not the one served; True when it switched."""
        async with self._switching:
            live = await self._store.live()
            if live is None or live[0] == self._serving or live[0] in self._broken:
                return False
            try:
                content = await self.content_of(live[0])
            except ContentInvalid as exc:
                self._broken.add(live[0])
                self._log.error("content version %s does not load with this release, serving %s: %s", live[0][:12],
                                self._serving[:12], exc)
                return False
            self._holder.swap(content)
            previous, self._serving = self._serving, content.version
            self._trim({content.version})
            self._log.info("content version %s is live (was %s)", live[0][:12], previous[:12])
            return True

    async def follow(self, wakeups: Wakeups, poll_seconds: float) -> None:
        """Run until cancelled: refresh whenever woken, and at least every `poll_seconds`."""
        while True:
            raise_if_cancelling()  # a stop request swallowed on the way (see bot/cancellation.py) still stops it
            await wakeups.wait(poll_seconds)
            try:
                await self.refresh()
            except Exception as exc:  # a database outage or a version that fails here: serve on, try again
                raise_if_cancelling()
                self._log.warning("could not switch to the live content version: %r", exc)

    async def start(self, seed: Path) -> None:
        """Import the deployed intents/ as a version (see `import_seed`), then serve the live version."""
        loop = asyncio.get_running_loop()
        files = await loop.run_in_executor(None, read_directory, seed)
        await loop.run_in_executor(None, prune, self._cache, CACHE_DAYS * 86400)
        if not self._serving:  # content a test passed in, loaded from the seed folder
            self._serving = version_id(files)
        if self._holder.current.version:
            self._remember(self._holder.current)
        await import_seed(self._store, files, self._log)
        await self.refresh()


def load_versioned(build: Build, directory: Path) -> Content:
    """The content of a folder, named by its version id (what bootstrap serves until the live version is known)."""
    return dataclasses.replace(build(directory), version=version_id(read_directory(directory)))


async def import_seed(store: VersionStore, files: Files, log: logging.Logger) -> None:
    """The repository's intents/ (what a deploy ships) as a version. A new seed is published only when what is live
    is a seed too (or nothing is): a deploy never overwrites a version published from the studio or the CLI; the
    seed is then kept as a draft and a warning says how to publish it."""
    seed_id = version_id(files)
    live = await store.live()
    stored = await store.get(seed_id)
    if stored is None:
        stored = await store.add(files, parent=live[0] if live else None, source="seed", author="deploy",
                                 message="部署自带的 intents/")
    if live is not None and live[0] == seed_id or stored.published_at is not None:
        return  # already live, or published once and rolled back since: left as it is
    live_version = await store.get(live[0]) if live else None
    if live_version is None or live_version.source == "seed":
        if await store.publish(seed_id, "deploy", expect_generation=live[1] if live else None) is not None:
            log.info("deployed intents/ published as content version %s", seed_id[:12])
        return
    log.warning("deployed intents/ stored as draft %s: version %s (%s, by %s) is live and stays live; publish the "
                "draft with `python -m bot content publish` after merging what the studio changed", seed_id[:12],
                live_version.id[:12], live_version.source, live_version.author)
