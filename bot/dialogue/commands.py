"""Commands with typed arguments: the values of the options sent to the client ("/pick GA0020000", "/rate_level 3")
are built by `Invocation.value` and read back by `parse`, here and nowhere else."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, NamedTuple, Union

from bot.dialogue.replies import Option
from bot.dialogue.talk import SmallTalk
from bot.dialogue.topics import Topic
from bot.ratings import RatingLevel


PREFIX = "/"  # a message starting with it is a command, never an answer


class Command(str, Enum):
    """Every verb a citizen can send by tapping an option, or mean by a word of intents/dictionaries/questions.yaml."""

    hello = "hello"                    # the chat was opened
    apply = "apply"                    # start applying for the item on screen
    cancel = "cancel"                  # arg: True when confirmed, False to go on after all (none: ask if needed)
    back = "back"
    edit = "edit"                      # arg: the key of the step to change (none: list them)
    human = "human"                    # 转人工; arg: a department picked from the list (none: the item's or ask)
    leave_human = "leave_human"        # back to the bot
    rate_human = "rate_human"          # arg: HumanRating
    help = "help"
    submit = "submit"
    reuse = "reuse"                    # arg: True to reuse earlier answers, False to fill in again
    fresh = "fresh"                    # the word for "/reuse no"
    skip = "skip"
    defer = "defer"                    # 容缺
    licence = "licence"                # 电子证照
    pledge = "pledge"                  # show the 告知承诺 text
    accept_pledge = "accept_pledge"
    pick = "pick"                      # arg: the key of one of the items offered
    ask = "ask"                        # arg: a Topic about the item on screen
    correct = "correct"                # 补正
    rate = "rate"                      # arg: a case number (none: ask which)
    rate_level = "rate_level"          # arg: a RatingLevel
    rate_tag = "rate_tag"              # arg: a tag
    rate_tags_done = "rate_tags_done"
    rate_skip = "rate_skip"
    rectified = "rectified"            # arg: TicketAnswer
    pay = "pay"                        # arg: a case number (none: ask which)
    withdraw = "withdraw"              # arg: a case number (none: ask which)
    withdraw_confirm = "withdraw_confirm"  # arg: a case number
    progress = "progress"              # 查进度; arg: the citizen's words, which may name the item (我的身份证…)
    small_talk = "small_talk"          # arg: a SmallTalk (你好, 在吗, 谢谢, 再见)


class TicketAnswer(NamedTuple):
    """The citizen's answer to a rectified bad rating: was the problem solved?"""

    ticket: int
    solved: bool


class HumanRating(NamedTuple):
    """好差评 of a human session: the handoff and the level."""

    handoff: int
    level: RatingLevel


Arg = Union[str, bool, Topic, RatingLevel, TicketAnswer, HumanRating, SmallTalk, None]


@dataclass(frozen=True)
class _ArgType:
    kind: type
    parse: Callable[[str], Arg]  # None: not a valid argument
    render: Callable[[Any], str]


def _yes_no(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text)


def _level(text: str) -> RatingLevel | None:
    return RatingLevel(int(text)) if text.isdecimal() and int(text) in RatingLevel._value2member_map_ else None


def _topic(text: str) -> Topic | None:
    return Topic(text) if text in Topic._value2member_map_ else None


def _small_talk(text: str) -> SmallTalk | None:
    return SmallTalk(text) if text in SmallTalk._value2member_map_ else None


def _human_rating(text: str) -> HumanRating | None:
    handoff, _, level = text.partition(" ")
    rated = _level(level.strip())
    return HumanRating(int(handoff), rated) if handoff.isdecimal() and rated is not None else None


def _ticket_answer(text: str) -> TicketAnswer | None:
    ticket, _, answer = text.partition(" ")
    solved = _yes_no(answer.strip())
    return TicketAnswer(int(ticket), solved) if ticket.isdecimal() and solved is not None else None


_TEXT = _ArgType(str, lambda text: text, str)
_ARGS: dict[Command, _ArgType] = {
    Command.pick: _TEXT, Command.edit: _TEXT, Command.rate: _TEXT, Command.rate_tag: _TEXT, Command.pay: _TEXT,
    Command.withdraw: _TEXT, Command.withdraw_confirm: _TEXT, Command.progress: _TEXT, Command.human: _TEXT,
    Command.rate_human: _ArgType(HumanRating, _human_rating, lambda r: f"{r.handoff} {int(r.level)}"),
    Command.ask: _ArgType(Topic, _topic, lambda topic: topic.value),
    Command.rate_level: _ArgType(RatingLevel, _level, lambda level: str(int(level))),
    Command.reuse: _ArgType(bool, _yes_no, lambda yes: "yes" if yes else "no"),
    Command.cancel: _ArgType(bool, _yes_no, lambda yes: "yes" if yes else "no"),
    Command.small_talk: _ArgType(SmallTalk, _small_talk, lambda talk: talk.value),
    Command.rectified: _ArgType(TicketAnswer, _ticket_answer, lambda a: f"{a.ticket} {'yes' if a.solved else 'no'}"),
}


@dataclass(frozen=True)
class Invocation:
    """A command and its argument (None: none given, or one that does not parse)."""

    command: Command
    arg: Arg = None

    def __post_init__(self) -> None:
        if self.arg is not None:
            spec = _ARGS.get(self.command)
            if spec is None or not isinstance(self.arg, spec.kind):
                raise TypeError(f"/{self.command.value} does not take {self.arg!r}")

    @property
    def value(self) -> str:
        """The text the client sends back when the option is tapped."""
        if self.arg is None:
            return f"{PREFIX}{self.command.value}"
        return f"{PREFIX}{self.command.value} {_ARGS[self.command].render(self.arg)}"


def parse(text: str) -> Invocation | None:
    """The command a message starting with PREFIX sends; None for any other text or an unknown verb."""
    if not text.startswith(PREFIX):
        return None
    verb, _, raw = text[len(PREFIX):].partition(" ")
    if verb not in Command._value2member_map_:
        return None
    command, spec, raw = Command(verb), _ARGS.get(Command(verb)), raw.strip()
    return Invocation(command, spec.parse(raw) if spec is not None and raw else None)


def option(label: str, command: Command, arg: Arg = None) -> Option:
    """An option that sends `command` with `arg` when tapped."""
    return Option(label=label, value=Invocation(command, arg).value)
