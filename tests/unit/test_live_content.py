"""An instance follows the live pointer: it builds a published version once and swaps it in; a version that does
not load with this release's code is logged once and the instance keeps serving what it has."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from bot.content import Content, load_content
from bot.content_holder import ContentHolder
from bot.studio.live import LiveContent
from bot.studio.versions import read_directory, version_id
from tests.chat import ROOT


async def test_a_published_version_is_built_once_and_a_broken_one_is_left_alone(store, content: Content,
                                                                                 tmp_path: Path, caplog) -> None:
    builds: list[Path] = []

    def build(directory: Path) -> Content:
        builds.append(directory)
        return load_content(directory, logging.getLogger("t"))

    seed = read_directory(ROOT / "intents")
    holder = ContentHolder(dataclasses.replace(content, version=version_id(seed)))
    live = LiveContent(holder, store, build, tmp_path / "cache", logging.getLogger("t"))
    await live.start(ROOT / "intents")
    assert builds == [] and live.current()[0] == version_id(seed)  # the seed is what it serves already

    greeting = {**seed, "scripts/prompts.yaml": seed["scripts/prompts.yaml"].replace(
        "greeting:", "greeting: 新版本的问候。\nold_greeting:", 1)}
    broken = await store.add(greeting, parent=None, source="cli", author="ops", message="多了一个键")
    await store.publish(broken.id, "ops", expect_generation=1)
    with caplog.at_level(logging.ERROR):
        assert not await live.refresh()
        assert not await live.refresh()
    assert len(builds) == 1 and "does not load with this release" in caplog.text
    assert holder.current.version == version_id(seed)

    renamed = {**seed, "scripts/prompts.yaml": seed["scripts/prompts.yaml"].replace("# ", "#  ", 1)}
    good = await store.add(renamed, parent=None, source="cli", author="ops", message="注释")
    await store.publish(good.id, "ops", expect_generation=2)
    assert await live.refresh() and holder.current.version == good.id and len(builds) == 2
    assert not await live.refresh() and len(builds) == 2
    assert live.loaded(version_id(seed)) is not None  # kept for the forms started on it
