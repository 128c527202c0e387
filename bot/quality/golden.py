"""Golden tests: conversations (intents/tests/*.yaml) and utterances with the answer expected
(intents/tests/utterances.yaml), run against the content of any folder on a fresh embedded engine (SQLite in a
temporary folder, sessions in memory, the sandbox payment provider; no network).

    conversations:
      - name: 身份证过期了，换领
        steps:
          - say: 身份证过期了                 # or tap: 我要办理 (an option whose label contains it),
            expect:                          #    upload: photo, staff: accepted, pay: true
              type: card                     # some reply of this type (text, choices, form_step, material_step,
              contains: 居民身份证换领          #   card, payment); text shown, one string or a list of them
              stage: offered                 # where the conversation is afterwards (bot/dialogue/state.py)

`staff: <status>` moves the citizen's latest case as the staff member who may (with `reason:` and, for a
return for correction, `materials: {key: why}`), then delivers the progress messages; `pay: true` confirms the
last payment shown in the sandbox and waits for its notification.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot.cases import Case
from bot.content import Content, load_content
from bot.content_errors import ContentInvalid, load_model
from bot.dialogue.engine import Engine, Inbound
from bot.dialogue.replies import Reply
from bot.dialogue.state import Stage
from bot.errors import DomainError
from bot.lifecycle import MOVES, CaseStatus
from bot.matching.matcher import Decision, MatchResult
from bot.staff import Staff
from bot.uploads import Upload

TESTS = "tests"
UTTERANCES = "utterances.yaml"
GOLDEN_CLOCK = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # a Friday morning in 德令哈: dates stay fixed
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
# What YAML reads as a number or a date (13800138000, 2026-12-18) is meant as the text typed or shown.
Text = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float, date)) else v)]
ReplyType = Literal["text", "choices", "form_step", "material_step", "card", "payment"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    type: ReplyType | None = Field(default=None, description="Some reply of this type")
    contains: Text | list[Text] = Field(default_factory=list, description="Shown somewhere in the replies")
    absent: Text | list[Text] = Field(default_factory=list, description="Shown nowhere in the replies")
    stage: Stage | None = Field(default=None, description="The conversation's stage afterwards")


class Turn(_Strict):
    """One thing the citizen (or staff, or the payment provider) does, and what must follow."""

    say: Text | None = None
    tap: Text | None = Field(default=None, description="Part of the label of an option shown in the last replies")
    upload: Literal["photo", "empty"] | None = None
    staff: CaseStatus | None = Field(default=None, description="Staff move the citizen's latest case here")
    reason: str | None = None
    materials: dict[str, str] = Field(default_factory=dict, description="Material key -> what to fix (补正)")
    pay: bool = Field(default=False, description="The sandbox confirms the last payment shown")
    expect: Expect = Expect()

    @model_validator(mode="after")
    def _one_action(self) -> "Turn":
        if sum(x is not None for x in (self.say, self.tap, self.upload, self.staff)) + self.pay != 1:
            raise ValueError("a turn does exactly one of say, tap, upload, staff, pay")
        return self

    @property
    def action(self) -> str:
        return (f"say {self.say}" if self.say is not None else f"tap {self.tap}" if self.tap is not None
                else f"upload {self.upload}" if self.upload else f"staff → {self.staff.value}" if self.staff
                else "pay")


class Conversation(_Strict):
    name: str
    after: str | None = Field(default=None, description="Name of a conversation of the same file whose steps "
                              "come first (a submitted case, a filled form …)")
    steps: list[Turn] = Field(min_length=1)


class GoldenFile(_Strict):
    conversations: list[Conversation] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_after(self) -> "GoldenFile":
        names = [c.name for c in self.conversations]
        for conversation in self.conversations:
            if conversation.after is not None and conversation.after not in names[:names.index(conversation.name)]:
                raise ValueError(f"「{conversation.name}」 comes after 「{conversation.after}」, which is not an "
                                 "earlier conversation of this file")
        return self

    def turns(self, conversation: Conversation) -> list[Turn]:
        """The steps of a conversation, after those of the one it follows."""
        before = next((c for c in self.conversations if c.name == conversation.after), None)
        return [*(self.turns(before) if before else []), *conversation.steps]


class UtteranceFile(_Strict):
    """text -> the item (or bundle) name it must match, `none`, or `clarify` (asking back is right)."""

    utterances: dict[Text, str] = Field(min_length=1)


@dataclass(frozen=True)
class Result:
    """One golden conversation or utterance: passed, or where and why not."""

    kind: Literal["conversation", "utterance"]
    file: str
    name: str
    passed: bool
    message: str = ""


@dataclass
class GoldenReport:
    results: list[Result] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    def table(self) -> str:
        """One line per test, failures with their reason, and the totals."""
        width = max((len(r.name) for r in self.results), default=4)
        lines = [f"{'ok' if r.passed else 'FAIL':4}  {r.kind:12}  {r.name:{width}}  {r.file}"
                 + (f"\n      {r.message}" if r.message else "") for r in self.results]
        failed = len(self.failures)
        lines.append(f"{len(self.results) - failed} passed, {failed} failed")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "total": len(self.results), "failed": len(self.failures),
                "results": [r.__dict__ for r in self.results]}


class GoldenFailure(Exception):
    """A turn whose replies are not what the golden test expects."""


def _texts(replies: list[Reply]) -> str:
    """Everything the citizen sees in the replies, as one string."""
    parts: list[str] = []
    for reply in replies:
        data = reply.model_dump()
        parts += [str(data.get("text") or ""), str(data.get("title") or "")]
        parts += [f"{f['label']}：{f['value']}" for f in data.get("fields", [])]
        parts += [o["label"] for o in data.get("options", []) + data.get("actions", [])]
    return "\n".join(p for p in parts if p)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class Harness:
    """What a golden conversation drives: the engine and the stores and people around it."""

    engine: Engine
    content: Callable[[], Content]
    stage: Callable[[str], Awaitable[Stage]]                 # the user's stage now
    latest_case: Callable[[str], Awaitable[Case | None]]     # the user's latest case
    move: Callable[[Staff, str, CaseStatus, str | None, dict[str, str]], Awaitable[Case]]  # CaseReview.move
    confirm_payment: Callable[[str], bool]                   # the sandbox's payer pays
    settled: Callable[[Case], Awaitable[bool]]               # the case owes nothing (Payments.settled)
    deliver: Callable[[], Awaitable[int]]                    # deliver the progress messages due


def _staff_for(content: Content, target_key: str, to: CaseStatus, current: CaseStatus) -> Staff:
    """A staff member of the lead department who may make this move."""
    target = content.catalog.target(target_key)
    if target is None:
        raise GoldenFailure(f"the case is of {target_key}, which this content does not have")
    department = target.bundle.department if target.bundle else target.items[0].department
    item = next((i for i in target.items if i.department == department), target.items[0])
    roles = sorted(MOVES.get((current, to), ()), key=lambda role: role.value)
    if not roles:
        raise GoldenFailure(f"staff cannot move a case from {current.value} to {to.value}")
    return Staff(id=1, name="golden", role=roles[0], department=department, level=item.level)


class _Run:
    """One conversation of one citizen."""

    def __init__(self, harness: Harness, user: str) -> None:
        self.harness, self.user = harness, user
        self.replies: list[Reply] = []

    def _option(self, label: str) -> str:
        for reply in self.replies:
            data = reply.model_dump()
            for option in data.get("options", []) + data.get("actions", []):
                if label in option["label"]:
                    return str(option["value"])
        raise GoldenFailure(f"no option labelled 「{label}」 in: {_texts(self.replies)!r}")

    async def turn(self, turn: Turn) -> None:
        h = self.harness
        if turn.say is not None or turn.tap is not None:
            text = turn.say if turn.say is not None else self._option(turn.tap or "")
            self.replies = await h.engine.handle(self.user, Inbound(text=text))
        elif turn.upload is not None:
            data = PNG if turn.upload == "photo" else b""
            self.replies = await h.engine.handle(self.user, Inbound(upload=Upload("photo.png", data)))
        elif turn.staff is not None:
            await self._staff(turn)
        else:
            await self._pay()
        self._expect(turn.expect, await h.stage(self.user))

    async def _staff(self, turn: Turn) -> None:
        case = await self.harness.latest_case(self.user)
        if case is None:
            raise GoldenFailure("the citizen has no case for staff to move")
        assert turn.staff is not None
        staff = _staff_for(self.harness.content(), case.target, turn.staff, CaseStatus(case.status))
        reason = turn.reason or ("材料需要补正" if turn.staff in (CaseStatus.returned, CaseStatus.refused) else None)
        await self.harness.move(staff, case.number, turn.staff, reason, turn.materials)
        await self.harness.deliver()
        self.replies = []

    async def _pay(self) -> None:
        payment = next((r for r in reversed(self.replies) if r.type == "payment"), None)
        if payment is None or not self.harness.confirm_payment(payment.out_trade_no):
            raise GoldenFailure("no payment shown to confirm" if payment is None else "the sandbox refused payment")
        for _ in range(100):  # the sandbox notifies asynchronously, within a second
            case = await self.harness.latest_case(self.user)
            if case is not None and await self.harness.settled(case):
                break
            await asyncio.sleep(0.05)
        else:
            raise GoldenFailure("the payment was not recorded within 5 s")
        await self.harness.deliver()
        self.replies = []

    def _expect(self, expect: Expect, stage: Stage) -> None:
        shown = _texts(self.replies)
        if expect.type and not any(r.type == expect.type for r in self.replies):
            raise GoldenFailure(f"expected a {expect.type} reply, got {[r.type for r in self.replies]}: {shown!r}")
        for text in _listed(expect.contains):
            if text not in shown:
                raise GoldenFailure(f"expected 「{text}」 in the replies: {shown!r}")
        for text in _listed(expect.absent):
            if text in shown:
                raise GoldenFailure(f"did not expect 「{text}」 in the replies: {shown!r}")
        if expect.stage and stage is not expect.stage:
            raise GoldenFailure(f"expected stage {expect.stage.value}, got {stage.value}")


async def run_conversation(harness: Harness, turns: list[Turn], user: str) -> str:
    """'' when every turn goes as expected, else which turn failed and why."""
    run = _Run(harness, user)
    for number, turn in enumerate(turns, 1):
        try:
            await run.turn(turn)
        except GoldenFailure as exc:
            return f"turn {number} ({turn.action}): {exc}"
        except DomainError as exc:  # staff may not make this move now, the engine refused …
            return f"turn {number} ({turn.action}): refused: {exc.__class__.__name__} {exc}"
    return ""


def utterance_verdict(expected: str, result: MatchResult) -> str:
    """'' when `result` is the answer expected (an item name, `none` or `clarify`), else what it was instead."""
    names = [c.name for c in result.candidates]
    if expected == "none":
        ok = result.decision is Decision.none
    elif expected == "clarify":
        ok = result.decision is Decision.clarify
    else:
        ok = result.decision is Decision.match and names[0] == expected
    shown = [] if result.decision is Decision.none else names  # a none's candidates were all too weak to offer
    got = result.decision.value + (f" {'、'.join(shown)}" if shown else "")
    return "" if ok else f"expected {expected}, got {got}"


def load_golden(directory: Path) -> tuple[dict[str, GoldenFile], dict[str, UtteranceFile], list[Result]]:
    """The conversation files and utterance lists under directory/tests; files that do not load as results."""
    conversations: dict[str, GoldenFile] = {}
    utterances: dict[str, UtteranceFile] = {}
    broken: list[Result] = []
    for path in sorted((directory / TESTS).glob("*.yaml")):
        name = str(path.relative_to(directory))
        try:
            if path.name == UTTERANCES:
                utterances[name] = load_model(path, UtteranceFile, directory)
            else:
                conversations[name] = load_model(path, GoldenFile, directory)
        except ContentInvalid as exc:
            broken.append(Result("conversation", name, "(file)", False, "; ".join(map(str, exc.errors))))
    return conversations, utterances, broken


async def run_golden_with(directory: Path, content: Content, harness: Harness) -> GoldenReport:
    """Every golden test under directory/tests against `content`, on `harness` (each conversation as a new
    citizen)."""
    conversations, utterances, broken = load_golden(directory)
    report = GoldenReport(list(broken))
    for file, golden in conversations.items():
        for n, conversation in enumerate(golden.conversations):
            message = await run_conversation(harness, golden.turns(conversation), f"golden-{file}-{n}")
            report.results.append(Result("conversation", file, conversation.name, not message, message))
    for file, listed in utterances.items():
        for text, expected in listed.utterances.items():
            message = utterance_verdict(expected, content.matcher.match(text))
            report.results.append(Result("utterance", file, text, not message, message))
    return report


@asynccontextmanager
async def embedded_harness(directory: Path, content: Content, scratch: Path) -> AsyncIterator[Harness]:
    """The app's own services (bootstrap) on the embedded stores under `scratch`, content fixed, clock frozen."""
    from bootstrap import bootstrap  # the composition root; imported here so bot/ does not depend on it at import
    from bot.config import Settings
    from storage.migrate import upgrade

    def key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    settings = Settings.load(None, database_url=f"sqlite+aiosqlite:///{scratch}/golden.db", blob_dir=scratch / "blobs",
                             intents_dir=directory, field_key=key(), search_key=key(), session_token_key=key(),
                             redis_url="", semantic_tiebreaker=False, wechat_appid="", payments={"provider": "sandbox"},
                             rate_limit={"messages": 1_000_000, "per_seconds": 1}, uploads={"max_bytes": 200_000})
    services = bootstrap(settings, content=content, clock=lambda: GOLDEN_CLOCK)
    try:
        await upgrade(services.stores.db)
        sessions, cases, sandbox = services.stores.shared.sessions, services.stores.cases, services.sandbox
        assert sandbox is not None

        async def stage(user: str) -> Stage:
            async with sessions.session(user) as session:
                state = await session.load()
            return state.stage if state else Stage.idle

        async def latest_case(user: str) -> Case | None:
            found = await cases.list_for_user(user)
            return max(found, key=lambda case: case.number) if found else None

        yield Harness(services.engine, lambda: content, stage, latest_case, services.review.move, sandbox.confirm,
                      services.payments.settled, services.dispatcher.drain)
    finally:
        await services.close()


def run_golden(directory: Path, content: Content | None = None) -> GoldenReport:
    """Every golden test under directory/tests against the content of `directory` (loaded here unless given),
    on a fresh embedded engine in a temporary folder. Content that does not load fails every test."""
    if content is None:
        try:
            content = load_content(directory, logging.getLogger("zhengwu.quality"))
        except ContentInvalid as exc:
            return GoldenReport([Result("conversation", str(e.file), "(content)", False, str(e)) for e in exc.errors])
    loaded = content

    async def run() -> GoldenReport:
        with tempfile.TemporaryDirectory(prefix="golden-") as scratch:
            async with embedded_harness(directory, loaded, Path(scratch)) as harness:
                return await run_golden_with(directory, loaded, harness)

    return asyncio.run(run())
