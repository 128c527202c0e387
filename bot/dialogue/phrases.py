"""Everyday sentences in citizens' own words (intents/dictionaries/phrases.yaml): what a message that is not one
of the exact command words of questions.yaml still means ("不办了，取消", "好的，我要申请", "你好")."""
from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.content_errors import load_model
from bot.dialogue.commands import Command
from bot.dialogue.talk import SmallTalk

_CLAUSES = re.compile(r"[\s，,。.!！?？~～、；;：:…]+")
RECENT_TEXTS = 4096  # recent messages whose clauses, commands and topic are remembered (each is read every turn)
Phrase = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fillers(_Strict):
    before: list[Phrase] = Field(default_factory=list)
    after: list[Phrase] = Field(default_factory=list)


class CommandPhrases(_Strict):
    """`said`: one clause of the message is this phrase (fillers around it ignored). `within`: the message
    contains it anywhere (outside the words of `Phrases.not_within`)."""

    said: list[Phrase] = Field(default_factory=list)
    within: list[Phrase] = Field(default_factory=list)


class Phrases(_Strict):
    """intents/dictionaries/phrases.yaml."""

    fillers: Fillers
    not_within: list[Phrase] = Field(default_factory=list)
    commands: dict[Command, CommandPhrases]   # an unknown command name is an error with its line
    small_talk: dict[SmallTalk, list[Phrase]]
    agree: list[Phrase]    # yes to a yes/no question
    decline: list[Phrase]  # no to it

    @classmethod
    def load(cls, path: Path) -> "Phrases":
        return load_model(path, cls, path.parent.parent)

    # Looked up for every typed message: built once per content into a plain object (attribute reads on a
    # pydantic model go through __getattr__, several µs each).
    @cached_property
    def index(self) -> "PhraseIndex":
        return PhraseIndex(self)

    def meaning(self, text: str) -> frozenset[Command]:
        """The commands a sentence stands for: a part said, or a phrase within it (usually none)."""
        return self.index.meaning(text)

    def small_talk_of(self, text: str) -> SmallTalk | None:
        """Greeting, thanks, goodbye or 在吗 when the whole message is made of such words (the last one counts:
        "谢谢，再见" is a goodbye); None as soon as any part says something else."""
        return self.index.small_talk_of(text)

    def answer(self, text: str) -> bool | None:
        """The answer to a yes/no question: True, False, or None when the message is neither."""
        return self.index.answer(text)


def _alternatives(words: list[str]) -> str:
    """One regex alternative of the words, longest first; one that never matches for none."""
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True))) or "(?!)"


class PhraseIndex:
    """The phrase lists as dicts and regexes: one split, one regex per part, dict lookups, one search per
    command with `within` phrases."""

    def __init__(self, phrases: Phrases) -> None:
        said: dict[str, set[Command]] = {}
        for command, lists in phrases.commands.items():
            for phrase in lists.said:
                said.setdefault(phrase.lower(), set()).add(command)
        self.said = {phrase: frozenset(commands) for phrase, commands in said.items()}
        # One scan for every `within` phrase; the words of not_within come first, so that where one starts it is
        # consumed whole and no phrase inside it is found.
        groups = [f"(?P<guard>{_alternatives(phrases.not_within)})"]
        self.commands: dict[str, Command] = {}
        for n, (command, lists) in enumerate((c, l) for c, l in phrases.commands.items() if l.within):
            groups.append(f"(?P<c{n}>{_alternatives(lists.within)})")
            self.commands[f"c{n}"] = command
        self.within = re.compile("|".join(groups))
        self.talk = {p.lower(): talk for talk, words in phrases.small_talk.items() for p in words}
        self.answers = {**{p.lower(): True for p in phrases.agree}, **{p.lower(): False for p in phrases.decline}}
        # the fillers around a part, never the whole part: "那就办吧" -> 办, "好的" stays 好的
        self.bare = re.compile(f"(?:{_alternatives(phrases.fillers.before)})*(.+?)"
                               f"(?:{_alternatives(phrases.fillers.after)})*", re.DOTALL)
        # small talk, then the command phrases read each message, and the same texts come back from many users
        self.clauses = lru_cache(maxsize=RECENT_TEXTS)(self._clauses)
        self.meaning = lru_cache(maxsize=RECENT_TEXTS)(self._meaning)

    def _clauses(self, text: str) -> tuple[tuple[str, str], ...]:
        """The message cut at punctuation: each part as typed and without the filler words around it."""
        bare = self.bare.fullmatch
        return tuple((part, m.group(1) if (m := bare(part)) else part)
                     for part in _CLAUSES.split(text.lower()) if part)

    def _meaning(self, text: str) -> frozenset[Command]:
        said, meant = self.said, set[Command]()
        for part, bare in self.clauses(text):
            meant |= said.get(part) or said.get(bare, frozenset())
        meant.update(self.commands[m.lastgroup] for m in self.within.finditer(text) if m.lastgroup != "guard"
                     and m.lastgroup is not None)
        return frozenset(meant)

    def small_talk_of(self, text: str) -> SmallTalk | None:
        talk = self.talk
        kinds = [talk.get(part) or talk.get(bare) for part, bare in self.clauses(text)]
        return kinds[-1] if kinds and None not in kinds else None

    def answer(self, text: str) -> bool | None:
        answers = {self.answers.get(part, self.answers.get(bare)) for part, bare in self.clauses(text)}
        return answers.pop() if len(answers) == 1 else None
