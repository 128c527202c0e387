"""How a deploy (the repository's intents/) and the studio coexist: a new seed goes live only over a seed; over a
version published from the studio or the CLI it is kept as a draft and a warning says so."""
from __future__ import annotations

import logging

from bot.studio.live import import_seed
from bot.studio.versions import version_id

FIRST = {"catalog/a.yaml": "items: []\n"}
SECOND = {"catalog/a.yaml": "items: [一]\n"}
STUDIO = {"catalog/a.yaml": "items: [二]\n"}


async def test_a_new_deploy_replaces_a_seed_and_is_imported_once(store) -> None:
    log = logging.getLogger("t")
    await import_seed(store, FIRST, log)
    assert (await store.live()) == (version_id(FIRST), 1)
    await import_seed(store, FIRST, log)  # a second instance of the same deploy
    await import_seed(store, SECOND, log)
    assert (await store.live()) == (version_id(SECOND), 2)
    assert (await store.get(version_id(SECOND))).parent == version_id(FIRST)


async def test_a_deploy_never_overwrites_a_studio_publish(store, caplog) -> None:
    log = logging.getLogger("t")
    await import_seed(store, FIRST, log)
    studio = await store.add(STUDIO, parent=version_id(FIRST), source="studio", author="staff:1 李", message="m")
    await store.publish(studio.id, "staff:2 王", expect_generation=1)
    with caplog.at_level(logging.WARNING):
        await import_seed(store, SECOND, log)
    assert (await store.live())[0] == studio.id
    draft = await store.get(version_id(SECOND))
    assert draft is not None and draft.published_at is None and "stored as draft" in caplog.text


async def test_a_seed_rolled_back_is_not_published_again_at_the_next_start(store) -> None:
    log = logging.getLogger("t")
    await import_seed(store, FIRST, log)
    await import_seed(store, SECOND, log)
    assert await store.rollback("ops") == version_id(FIRST)
    await import_seed(store, SECOND, log)  # instances restart with the same release
    assert (await store.live())[0] == version_id(FIRST)
