"""Answers to questions about an item, composed from the catalog (never hard-coded per item)."""
from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict

from bot.catalog import Material, Target
from bot.catalog.models import DAY_UNIT_LABELS, LEVEL_LABELS, ONLINE_LABELS, MaterialSource, OnlineLevel, TimeLimit
from bot.content_errors import load_model
from bot.dialogue.commands import Command, option
from bot.dialogue.phrases import RECENT_TEXTS
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import CardField, CardReply, Option, TextReply
from bot.dialogue.script import FaqEntry
from bot.dialogue.topics import Topic


COMMAND_PUNCTUATION = " 。.!！~～"  # around a command word, e.g. "取消！"


class QuestionWords(BaseModel):
    """intents/dictionaries/questions.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: dict[Topic, list[str]]
    question_marks: list[str]
    commands: dict[Command, list[str]]  # an unknown command word is an error with its line

    # Looked up for every message: one search per topic instead of one `in` per word, and one dict lookup for
    # all the commands a whole message may stand for. Cached properties, not private attributes: pydantic
    # reads those through __getattr__, at 3.5-4.8 µs an access here.
    @cached_property
    def _topic_patterns(self) -> list[tuple[Topic, re.Pattern[str]]]:
        return [(topic, re.compile("|".join(map(re.escape, words))))
                for topic, words in self.topics.items() if words]

    @cached_property
    def _meanings(self) -> dict[str, frozenset[Command]]:
        meanings: dict[str, set[Command]] = {}
        for command, words in self.commands.items():
            for word in words:
                meanings.setdefault(word, set()).add(command)
        return {word: frozenset(commands) for word, commands in meanings.items()}

    def meaning(self, text: str) -> frozenset[Command]:
        """The commands the whole message is a word for ("取消" -> cancel, "上一步" -> back ...), usually none."""
        return self._meanings.get(text.strip(COMMAND_PUNCTUATION), frozenset())

    def means(self, text: str, command: Command) -> bool:
        """Whether the whole message is one of the words for a command."""
        return command in self.meaning(text)

    @classmethod
    def load(cls, path: Path) -> "QuestionWords":
        return load_model(path, cls, path.parent.parent)

    def topic(self, text: str) -> Topic | None:
        """The first topic (in the file's order) with a word in the text."""
        return self._topic_of(text)

    @cached_property
    def _topic_of(self) -> Callable[[str], Topic | None]:
        """`_first_topic` remembered for recent texts (one search per topic, on every message)."""
        return lru_cache(maxsize=RECENT_TEXTS)(self._first_topic)

    def _first_topic(self, text: str) -> Topic | None:
        for topic, pattern in self._topic_patterns:
            if pattern.search(text):
                return topic
        return None

    def without_topic_words(self, text: str) -> str:
        """The text with every topic word removed: what is left names the item, if anything."""
        for words in self.topics.values():
            for word in words:
                text = text.replace(word, " ")
        return text

    def is_question(self, text: str) -> bool:
        return any(m in text for m in self.question_marks)


def _days(limit: TimeLimit | None, prompts: Prompts) -> str:
    if limit is None:
        return prompts.to_confirm
    return "当场办结" if limit.days == 0 else f"{limit.days}{DAY_UNIT_LABELS[limit.unit]}"


def _phone(target: Target, prompts: Prompts) -> list[str]:
    phones = dict.fromkeys(i.consult_phone for i in target.items if i.consult_phone)
    return [prompts.consult_phone.format(phone="、".join(phones))] if phones else []


def answer(topic: Topic, target: Target, prompts: Prompts) -> TextReply:
    """Compose the answer to one topic about a target."""
    return TextReply(text=_ANSWERS[topic](target, prompts))


def _material_line(number: int, material: Material, *extra: str) -> str:
    notes = [*extra] if material.required else ["非必需", *extra]
    if material.source is MaterialSource.shared_licence:
        notes.append("可用电子证照免交")
    if material.deferrable:
        notes.append("可容缺后补")
    if material.pledge:
        notes.append("可告知承诺")
    copies = f"{material.copies}份" if material.copies > 1 else ""
    return f"{number}. {material.name}{copies}" + (f"（{'，'.join(notes)}）" if notes else "")


def _materials(target: Target, prompts: Prompts) -> str:
    materials = target.materials()
    if not materials:
        return prompts.materials_none.format(name=target.name)
    return "\n".join([prompts.materials_title.format(name=target.name),
                      *(_material_line(i, m) for i, m in enumerate(materials, 1))])


def _time(target: Target, prompts: Prompts) -> str:
    return prompts.time_answer.format(name=target.name, promised=_days(target.promised, prompts),
                                      legal=_days(target.legal, prompts))


def _fee(target: Target, prompts: Prompts) -> str:
    if any(i.fee.unknown for i in target.items):
        return "\n".join([prompts.not_stated.format(name=target.name, what="收费标准"), *_phone(target, prompts)])
    total = sum(i.fee.amount for i in target.items)
    if total == 0:
        return prompts.fee_free.format(name=target.name)
    note = "；".join(filter(None, (i.fee.note for i in target.items)))
    return prompts.fee_answer.format(name=target.name, amount=total, note=note).strip()


def _conditions(target: Target, prompts: Prompts) -> str:
    conditions = [c for i in target.items for c in i.conditions]
    if not conditions:
        return prompts.not_stated.format(name=target.name, what="受理条件")
    return "\n".join([prompts.conditions_title.format(name=target.name),
                      *(f"{n}. {c}" for n, c in enumerate(conditions, 1))])


def _location(target: Target, prompts: Prompts) -> str:
    lines = []
    for item in target.items:
        head = item.name if target.is_bundle else target.name
        lines.append(prompts.location_title.format(name=head, online=ONLINE_LABELS[item.online]))
        lines.extend("· " + "，".join(filter(None, (loc.name, loc.address, loc.hours))) for loc in item.locations)
        if item.platform and not item.locations:
            lines.append(f"· {item.platform}")
    return "\n".join(lines + _phone(target, prompts))


def _legal(target: Target, prompts: Prompts) -> str:
    basis = [b for i in target.items for b in i.legal_basis]
    if not basis:
        return prompts.not_stated.format(name=target.name, what="办理依据")
    return "\n".join([prompts.legal_title.format(name=target.name), *(f"· {b}" for b in basis)])


def on_site_notice(target: Target, prompts: Prompts) -> TextReply:
    """一次性告知 of an item done on site: what to bring, where and when, fee, time, what the citizen gets and how
    to book, in one message."""
    item = target.items[0]
    lines = [prompts.on_site_notice.format(name=target.name)]
    if materials := target.materials():
        lines.append(prompts.on_site_bring)
        lines += [_material_line(n, m, *([prompts.on_site_by_office] if m.source is MaterialSource.office else []))
                  for n, m in enumerate(materials, 1)]
    if item.locations:
        lines.append(prompts.on_site_places)
        lines += ["· " + "，".join(filter(None, (loc.name, loc.address, loc.hours))) for loc in item.locations]
    lines += [_fee(target, prompts), _time(target, prompts)]
    if item.result:
        lines.append(prompts.on_site_result.format(result=item.result))
    phones = [item.consult_phone] if item.consult_phone else [loc.phone for loc in item.locations if loc.phone]
    lines.append(prompts.on_site_booking.format(phone="、".join(dict.fromkeys(phones)), name=target.name) if phones
                 else prompts.on_site_no_booking)
    return TextReply(text="\n".join(lines))


def still_on_site(target: Target, prompts: Prompts) -> list[TextReply]:
    """After a bundle is submitted: each of its items done on site (预防接种证 at the clinic), where to go and what
    the citizen gets there; the online application covered the shared form and materials."""
    return [TextReply(text=prompts.bundle_on_site.format(
                name=item.name, place="、".join(loc.name for loc in item.locations),
                hours=item.locations[0].hours or "", result=item.result or item.name))
            for item in target.items if target.is_bundle and item.online is OnlineLevel.on_site and item.locations]


_ANSWERS: dict[Topic, Callable[[Target, Prompts], str]] = {
    Topic.materials: _materials, Topic.time: _time, Topic.fee: _fee, Topic.conditions: _conditions,
    Topic.location: _location, Topic.legal: _legal,
}


def faq_answer(text: str, faq: tuple[FaqEntry, ...]) -> TextReply | None:
    """A script FAQ entry whose keyword appears in the text."""
    for entry in faq:
        if any(word in text for word in entry.ask):
            return TextReply(text=entry.answer)
    return None


def item_card(target: Target, prompts: Prompts, elder: bool = False) -> CardReply:
    """The card shown when an item is found: essentials and what to do next. In 长辈模式 (`elder`) the card opens
    with what to bring, where, how long and the cost; the other facts are `more` (behind 「查看更多」)."""
    first = target.items[0]
    fields = [CardField(label="办理部门", value=target.bundle.department if target.bundle else first.department)]
    if target.is_bundle:
        fields.append(CardField(label="包含事项", value="、".join(i.name for i in target.items)))
    else:
        fields.append(CardField(label="办理层级", value=LEVEL_LABELS[first.level]))
        if first.situation:
            fields.append(CardField(label="情形", value=first.situation))
    fee = sum(i.fee.amount for i in target.items)
    time_and_fee = [
        CardField(label="承诺时限", value=_days(target.promised, prompts)),
        CardField(label="收费", value=prompts.to_confirm if any(i.fee.unknown for i in target.items)
                  else "免费" if fee == 0 else f"{fee} 元"),
    ]
    fields += [*time_and_fee, CardField(label="办理方式", value=ONLINE_LABELS[first.online])]
    if not target.is_bundle and first.consult_phone:
        fields.append(CardField(label="咨询电话", value=first.consult_phone))
    guide = target.bundle.guide if target.bundle else first.guide
    if guide:
        fields.append(CardField(label="说明", value=re.sub(r"\s+", " ", guide)))
    if elder:
        essentials = [*_bring_and_place(target), *time_and_fee]
        fields = essentials + [f.model_copy(update={"more": True}) for f in fields if f not in time_and_fee]
    return CardReply(title=prompts.offer.format(name=target.name), fields=fields, actions=item_actions())


def item_actions() -> list[Option]:
    """What can be done about an item on screen: apply, or ask about materials, time or place."""
    return [option("我要办理", Command.apply), option("需要什么材料", Command.ask, Topic.materials),
            option("多久能办好", Command.ask, Topic.time), option("在哪办", Command.ask, Topic.location)]


def _bring_and_place(target: Target) -> list[CardField]:
    """What to bring and the first place to go, in few words (the 长辈模式 card; 「在哪办」 gives the addresses)."""
    materials = target.materials()
    bring = "、".join(m.name for m in materials if m.required) or "不用另外准备材料"
    places = [loc for i in target.items for loc in i.locations]
    place = places[0].name if places else ONLINE_LABELS[target.items[0].online]
    return [CardField(label="要带的材料", value=bring), CardField(label="办理地点", value=place)]
