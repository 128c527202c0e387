"""Everyday sentences in citizens' own words (intents/dictionaries/phrases.yaml): what a message that is not one
of the exact command words of questions.yaml still means ("不办了，取消", "好的，我要申请", "你好")."""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.content_errors import load_model
from bot.dialogue.commands import Command
from bot.dialogue.talk import SmallTalk

_CLAUSES = re.compile(r"[\s，,。.!！?？~～、；;：:…]+")
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

    # Precomputed once per content: a dict lookup per clause and one regex search per command.
    @cached_property
    def _said(self) -> dict[str, frozenset[Command]]:
        said: dict[str, set[Command]] = {}
        for command, lists in self.commands.items():
            for phrase in lists.said:
                said.setdefault(phrase.lower(), set()).add(command)
        return {phrase: frozenset(commands) for phrase, commands in said.items()}

    @cached_property
    def _within(self) -> list[tuple[Command, re.Pattern[str]]]:
        return [(command, re.compile("|".join(map(re.escape, lists.within))))
                for command, lists in self.commands.items() if lists.within]

    @cached_property
    def _guard(self) -> re.Pattern[str] | None:
        return re.compile("|".join(map(re.escape, self.not_within))) if self.not_within else None

    @cached_property
    def _talk(self) -> dict[str, SmallTalk]:
        return {phrase.lower(): talk for talk, phrases in self.small_talk.items() for phrase in phrases}

    @cached_property
    def _before(self) -> tuple[str, ...]:
        return tuple(sorted(self.fillers.before, key=len, reverse=True))

    @cached_property
    def _after(self) -> tuple[str, ...]:
        return tuple(sorted(self.fillers.after, key=len, reverse=True))

    @cached_property
    def _answers(self) -> dict[str, bool]:
        return {**{p.lower(): True for p in self.agree}, **{p.lower(): False for p in self.decline}}

    def clauses(self, text: str) -> list[tuple[str, str]]:
        """The message cut at punctuation: each part as typed and without the filler words around it."""
        return [(part, self._bare(part)) for part in _CLAUSES.split(text.lower()) if part]

    def _bare(self, clause: str) -> str:
        changed = True
        while changed and clause:
            changed = False
            for filler in self._before:
                if clause.startswith(filler) and len(clause) > len(filler):
                    clause, changed = clause[len(filler):], True
                    break
            for filler in self._after:
                if clause.endswith(filler) and len(clause) > len(filler):
                    clause, changed = clause[:-len(filler)], True
                    break
        return clause

    def meaning(self, text: str) -> frozenset[Command]:
        """The commands a sentence stands for: a clause said, or a phrase within it (usually none)."""
        meant: set[Command] = set()
        for part, bare in self.clauses(text):
            meant |= self._said.get(part) or self._said.get(bare, frozenset())
        searched = self._guard.sub(" ", text) if self._guard else text
        meant.update(command for command, pattern in self._within if pattern.search(searched))
        return frozenset(meant)

    def small_talk_of(self, text: str) -> SmallTalk | None:
        """Greeting, thanks, goodbye or 在吗 when the whole message is made of such words (the last one counts:
        "谢谢，再见" is a goodbye); None as soon as any part says something else."""
        kinds = [self._talk.get(part) or self._talk.get(bare) for part, bare in self.clauses(text)]
        if not kinds or None in kinds:
            return None
        return kinds[-1]

    def answer(self, text: str) -> bool | None:
        """The answer to a yes/no question: True, False, or None when the message is neither."""
        answers = {self._answers.get(part, self._answers.get(bare)) for part, bare in self.clauses(text)}
        return answers.pop() if len(answers) == 1 else None
