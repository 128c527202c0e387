"""Which content version a turn runs on, when a new version was published while a citizen was in a form.

An application under way carries over to the live version when its item keeps the same steps; otherwise it stays
on the version it started with while this instance still has that version loaded, until it ends. When that
version is no longer loaded here (another instance, a restart, several publishes), it is resumed on the live
version at its first open step with an apology (answers kept by key); an item withdrawn meanwhile gets the
`item_gone` apology from the engine as before.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.content import Content
from bot.dialogue.state import Conversation, Stage

Loaded = Callable[[str], Content | None]
IN_FORM = frozenset({Stage.reuse, Stage.collect, Stage.pledge, Stage.edit, Stage.confirm})


@dataclass(frozen=True)
class TurnContent:
    content: Content
    resumed: bool = False  # the form goes on at its first open step on the live version, after an apology


def _steps(content: Content, target: str) -> tuple[str, ...] | None:
    found = content.catalog.target(target)
    return None if found is None else tuple(s.key for s in content.scripts.plan(found).steps)


def content_for_turn(state: Conversation, live: Content, loaded: Loaded) -> TurnContent:
    """The content this user's turn runs on (see the module docstring)."""
    started = state.content_version
    if state.stage not in IN_FORM or not state.target or not started or not live.version or started == live.version:
        return TurnContent(live)
    now = _steps(live, state.target)
    if now is None:
        return TurnContent(live)  # withdrawn: the engine apologises with item_gone
    old = loaded(started)
    if old is None:
        return TurnContent(live, resumed=True)
    return TurnContent(live) if _steps(old, state.target) == now else TurnContent(old)
