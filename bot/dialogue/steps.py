"""A step of an application: what it asks, which answers it accepts, and when it is done.

The kinds of step (bot/dialogue/step_kinds.py) are picked by the `kind:` of a script entry; the application flow
(bot/dialogue/application.py) only talks to this protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Union

from bot.dialogue.commands import Invocation
from bot.dialogue.replies import Progress, Reply
from bot.dialogue.state import Conversation, Stage
from bot.uploads import Upload

if TYPE_CHECKING:
    from bot.dialogue.context import TurnContext

Answer = Union[str, Upload, Invocation]  # typed text, a file, or a tapped option of the step


@dataclass(frozen=True)
class Accepted:
    """The answer is recorded; the application moves on after `replies`."""

    replies: tuple[Reply, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """The answer is refused: `replies` say why, then the step is asked again."""

    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class Detour:
    """The step needs one more exchange first (e.g. reading a 告知承诺): go to `stage` and ask what it waits for."""

    stage: Stage


StepResult = Union[Accepted, Rejected, Detour, None]  # None: not an answer this step takes (its question is repeated)


class Step(Protocol):
    """One question of an application."""

    @property
    def key(self) -> str:
        """The field or material key, unique within its kind in one plan."""

    @property
    def label(self) -> str:
        """How the step is named in lists (修改哪一项)."""

    @property
    def is_material(self) -> bool:
        """Whether the answer is kept in `materials` (else in `answers`)."""

    @property
    def optional(self) -> bool:
        """Whether the application may be submitted without an answer."""

    async def ask(self, ctx: "TurnContext", progress: Progress) -> Reply:
        """The question, with the current answer if there is one."""

    async def accept(self, ctx: "TurnContext", answer: Answer) -> StepResult:
        """Record `answer` in the state if it is one; say why not otherwise."""

    def done(self, state: Conversation) -> bool:
        """Whether the state holds an answer to this step."""
