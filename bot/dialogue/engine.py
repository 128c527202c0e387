"""The dialogue engine: one user message in, typed replies out, state saved atomically per user."""
from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from bot.catalog import Material, Target
from bot.content import Content
from bot.dialogue import render
from bot.dialogue.answers import Topic, answer, faq_answer, item_card
from bot.dialogue.replies import (CardReply, ChoicesReply, Option, Progress, Reply, TextReply,
                                  numbered_options)
from bot.dialogue.script import FieldSpec, Plan
from bot.dialogue.state import Conversation, MaterialEntry, Stage
from bot.dialogue.validation import Invalid, validate
from bot.matching import Decision
from bot.dialogue.aftercare import AftercareFlows
from bot.dialogue.paying import PaymentFlows
from bot.content_check import ContentCheck, PermissiveContentCheck
from bot.feedback import Feedback
from bot.identity import IdentityVerifier, SandboxIdentityVerifier, needs_real_name
from bot.notify import Inbox
from bot.payments.service import Payments
from bot.cases import CaseMaterial, NewCase
from bot.ports import (BlobStore, BlobStoreUnavailable, CaseRepository, LicenceProvider, ProfileStore, SessionStore,
                       SessionUnavailable)
from bot.profiles import Profile
from bot.uploads import Upload, sniff
from bot.workdays import china_date


@dataclass(frozen=True)
class EngineSettings:
    max_upload_bytes: int
    allowed_types: tuple[str, ...]
    case_number_prefix: str
    deferral_days: int = 10


@dataclass(frozen=True)
class Inbound:
    """One message from a citizen: text (typed or a tapped option's value) or a file."""

    text: str | None = None
    upload: Upload | None = None
    numbered: bool = False  # a text-only channel: a bare number picks one of the options last shown


def _picked(message: Inbound, options: list[str]) -> Inbound:
    """"2" on a text-only channel means the second option last shown."""
    text = (message.text or "").strip()
    if message.numbered and text.isdigit() and 1 <= int(text) <= len(options):
        return Inbound(text=options[int(text) - 1])
    return message


class Engine:
    """Runs the conversation. Everything it touches is injected; it holds no per-user state itself."""

    def __init__(self, content: Callable[[], Content], sessions: SessionStore, cases: CaseRepository,
                 profiles: ProfileStore, blobs: BlobStore, licences: LicenceProvider,
                 settings: EngineSettings, clock: Callable[[], datetime], inbox: Inbox,
                 feedback: Feedback, payments: Payments, *,
                 identity: IdentityVerifier = SandboxIdentityVerifier(),
                 content_check: ContentCheck = PermissiveContentCheck()) -> None:
        self._content = content
        self._sessions, self._cases, self._profiles = sessions, cases, profiles
        self._blobs, self._licences = blobs, licences
        self._settings, self._clock, self._inbox, self._feedback = settings, clock, inbox, feedback
        self._payments = payments
        self._identity, self._content_check = identity, content_check

    async def handle(self, user: str, message: Inbound) -> list[Reply]:
        """Process one message under the user's lock; state is saved only if handling succeeds.

        Raises TryAgain (with a polite Chinese message) when the session or blob store cannot be used now, and
        TooManyMessages (nothing changed) when the user is over the rate limit.
        """
        try:
            async with self._sessions.session(user) as session:
                saved = await session.load()
                state = saved or Conversation()  # a fresh object: stores decode it on every load
                content = self._content()
                replies = await _Turn(self, content, user, state).run(_picked(message, state.last_options))
                state.last_options = [o.value for o in numbered_options(replies)]
                state.updated_at = self._clock()
                await session.save(state)
                return replies
        except (SessionUnavailable, BlobStoreUnavailable) as exc:
            raise TryAgain(self._content().prompts.retry_later) from exc


class TryAgain(Exception):
    """Nothing was changed; the user should send the same message again shortly."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _TargetGone(Exception):
    """The conversation refers to an item or bundle that is no longer in the catalog."""


class _Turn(AftercareFlows, PaymentFlows):
    """One message being handled: the content snapshot, the user's state and the engine's ports."""

    def __init__(self, engine: Engine, content: Content, user: str, state: Conversation) -> None:
        self.e, self.c, self.user, self.s = engine, content, user, state
        self.p = content.prompts

    # ---- entry -------------------------------------------------------------------------------
    async def run(self, message: Inbound) -> list[Reply]:
        try:
            return await self._route(message)
        except _TargetGone:
            self.s.reset()
            return [TextReply(text=self.p.item_gone)]

    async def _route(self, message: Inbound) -> list[Reply]:
        if message.upload is not None:
            return await self._on_upload(message.upload)
        text = (message.text or "").strip()
        if not text:
            return [TextReply(text=self.p.help)]
        if text.startswith("/"):
            verb, _, arg = text[1:].partition(" ")
            return await self._on_command(verb, arg.strip())
        return await self._on_text(text)

    async def _on_command(self, verb: str, arg: str) -> list[Reply]:
        handlers = {
            "hello": self._hello, "apply": self._apply, "cancel": self._cancel, "back": self._back,
            "human": self._human, "help": self._help, "submit": self._submit, "skip": self._skip,
            "defer": self._defer, "licence": self._use_licence, "pledge": self._show_pledge,
            "accept_pledge": self._accept_pledge, "correct": self._correct,
        }
        if verb in handlers:
            return await handlers[verb]()
        if verb == "pick" and arg in self.s.candidates:
            return self._offer(arg)
        if verb == "ask" and arg in Topic.__members__ and self.s.target:
            return [answer(Topic(arg), self._target(), self.p), *await self._reprompt()]
        if verb == "edit":
            return await self._edit(arg or None)
        if verb in ("rate", "rate_level", "rate_tag", "rate_tags_done", "rate_skip"):
            return await self._rate(verb, arg)
        if verb == "rectified":
            ticket, _, reply = arg.partition(" ")
            if ticket.isdigit() and await self.e._feedback.answer(self.user, int(ticket), reply == "yes"):
                return [TextReply(text=self.p.rectified_thanks)]
            return [TextReply(text=self.p.help)]
        if verb == "pay":
            return await self._pay(arg or None)
        if verb == "withdraw":
            return await self._withdraw(arg or None, confirmed=False)
        if verb == "withdraw_confirm":
            return await self._withdraw(arg, confirmed=True)
        if verb == "reuse":
            return await self._reuse(arg == "yes")
        return [TextReply(text=self.p.help)]

    async def _on_text(self, text: str) -> list[Reply]:
        meant, stage = self.c.words.meaning(text), self.s.stage  # the commands the whole text stands for
        for command in ("cancel", "back", "edit", "human", "help"):
            if command in meant and not (command == "edit" and stage is Stage.idle):
                return await self._on_command(command, "")
        if stage in (Stage.idle, Stage.offered, Stage.clarify) and "correct" in meant:
            return await self._correct()
        if stage in (Stage.idle, Stage.offered, Stage.clarify) and "rate" in meant:
            return await self._rate("rate", "")
        if stage is Stage.rate_text:
            return await self._rate("rate_skip" if "skip" in meant else "rate_text", text)
        if stage in (Stage.rate_level, Stage.rate_tags):
            return await self._reprompt()
        if stage in (Stage.idle, Stage.offered, Stage.clarify) and "pay" in meant:
            return await self._pay(None)
        if stage in (Stage.idle, Stage.offered, Stage.clarify) and "withdraw" in meant:
            return await self._withdraw(None, confirmed=False)
        if stage is Stage.offered and "apply" in meant:
            return await self._apply()
        if stage is Stage.confirm and "submit" in meant:
            return await self._submit()
        if stage is Stage.reuse and ("reuse" in meant or "fresh" in meant):
            return await self._reuse("reuse" in meant)
        if stage is Stage.pledge and "accept_pledge" in meant:
            return await self._accept_pledge()
        if stage in (Stage.collect, Stage.pledge, Stage.confirm, Stage.edit, Stage.reuse):
            return await self._answer_step(text)
        return await self._find(text)

    # ---- finding an item ----------------------------------------------------------------------
    async def _find(self, text: str) -> list[Reply]:
        topic = self.c.words.topic(text)
        # "条件是什么" about the item on screen must not be matched to an item named "...条件..."
        query = self.c.words.without_topic_words(text) if topic and self.s.target else text
        result = self.c.matcher.match(query)
        if self.c.tiebreaker and result.decision is Decision.clarify:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.c.tiebreaker.executor, self.c.tiebreaker.resolve, query, result)
        if topic and self.s.target and result.decision is not Decision.match:
            return [answer(topic, self._target(), self.p)]
        if result.decision is Decision.match:
            key = result.candidates[0].key
            if topic:
                self._offer(key)
                return [answer(topic, self._target(), self.p), *await self._reprompt()]
            return self._offer(key)
        if result.decision is Decision.clarify:
            self.s.stage, self.s.candidates = Stage.clarify, [c.key for c in result.candidates]
            options = [Option(label=c.name, value=f"/pick {c.key}") for c in result.candidates]
            options.append(Option(label=self.p.none_of_these, value="/human"))
            return [ChoicesReply(text=self.p.clarify, options=options)]
        return [ChoicesReply(text=self.p.no_match.format(text=text[:20]),
                             options=[Option(label=self.p.ask_human, value="/human")])]

    def _offer(self, key: str) -> list[Reply]:
        self.s.stage, self.s.target, self.s.candidates = Stage.offered, key, []
        return [self.c.card(key, lambda: item_card(self._target(), self.p))]

    # ---- applying ------------------------------------------------------------------------------
    async def _apply(self) -> list[Reply]:
        if not self.s.target or self.s.stage not in (Stage.offered, Stage.idle):
            return [TextReply(text=self.p.no_item_yet)]
        target, plan = self._target(), self._plan()
        self.s.start(target.key, uuid.uuid4().hex)
        replies: list[Reply] = [TextReply(text=self.p.apply_start.format(name=target.name, count=self._total(plan)))]
        profile = await self.e._profiles.load(self.user)
        self.s.reuse_offer = {f.key: profile.fields[f.key] for f in plan.fields
                              if f.reusable and f.key in profile.fields}
        self.s.reuse_materials = {m.key: profile.materials[m.key] for m in plan.materials
                                  if m.key in profile.materials}
        if self.s.reuse_offer or self.s.reuse_materials:
            self.s.stage = Stage.reuse
            return [*replies, render.reuse_question(plan, self.s, self.p)]
        return replies + await self._ask()

    async def _reuse(self, accept: bool) -> list[Reply]:
        if self.s.stage is not Stage.reuse:
            return [TextReply(text=self.p.help)]
        if accept:
            self.s.answers.update(self.s.reuse_offer)
            self.s.materials.update(self.s.reuse_materials)
        self.s.reuse_offer, self.s.reuse_materials = {}, {}
        return await self._advance()

    async def _answer_step(self, text: str) -> list[Reply]:
        plan = self._plan()
        topic = self.c.words.topic(text)
        faq = faq_answer(text, plan.faq) if self.c.words.is_question(text) else None
        if faq:
            return [faq, *await self._reprompt()]
        if topic and self.c.words.is_question(text):
            return [answer(topic, self._target(), self.p), *await self._reprompt()]
        if self.s.stage is not Stage.collect:
            return await self._reprompt()
        step = self._step(plan)
        if isinstance(step, FieldSpec):
            value = validate(step, text, china_date(self.e._clock()))
            if isinstance(value, Invalid):
                message = getattr(self.p, value.message).format(**value.params)
                return [TextReply(text=message), *await self._ask()]
            self.s.answers[step.key] = value
            return await self._advance()
        meant = self.c.words.meaning(text)
        for command, act in (("defer", self._defer), ("pledge", self._show_pledge), ("skip", self._skip),
                             ("licence", self._use_licence)):
            if command in meant:
                return await act()
        return [TextReply(text=self.p.upload_expected.format(name=step.name)), *await self._ask()]

    async def _on_upload(self, upload: Upload) -> list[Reply]:
        step = self._step(self._plan()) if self.s.stage is Stage.collect and self.s.target else None
        if not isinstance(step, Material):
            return [TextReply(text=self.p.upload_not_expected), *await self._reprompt()]
        settings = self.e._settings
        if upload.truncated or len(upload.data) > settings.max_upload_bytes:
            return [TextReply(text=self.p.upload_too_large.format(max_mb=settings.max_upload_bytes // 2**20)),
                    *await self._ask()]
        if not upload.data:
            return [TextReply(text=self.p.upload_empty), *await self._ask()]
        mime = sniff(upload.data)
        if mime is None or mime not in settings.allowed_types:
            return [TextReply(text=self.p.upload_bad_type), *await self._ask()]
        blob = await self.e._blobs.put(upload.data, mime)
        self.s.materials[step.key] = MaterialEntry(kind="upload", blob_id=blob.blob_id, mime=mime,
                                                   size=blob.size, filename=upload.filename[:100])
        return [TextReply(text=self.p.material_received.format(name=step.name)), *await self._advance()]

    async def _use_licence(self) -> list[Reply]:
        step = self._current_material()
        if step is None or step.licence_type not in await self._licences():
            return await self._reprompt()
        self.s.materials[step.key] = MaterialEntry(kind="licence", licence=step.licence_type)
        return [TextReply(text=self.p.material_licence_used.format(licence=step.licence_type)),
                *await self._advance()]

    async def _defer(self) -> list[Reply]:
        step = self._current_material()
        if step is None or not step.deferrable:
            return await self._reprompt()
        self.s.materials[step.key] = MaterialEntry(kind="deferred")
        days = self.e._settings.deferral_days
        return [TextReply(text=self.p.material_deferred.format(name=step.name, days=days)), *await self._advance()]

    async def _skip(self) -> list[Reply]:
        step = self._current_material()
        if step is None or step.required:
            return await self._reprompt()
        self.s.materials[step.key] = MaterialEntry(kind="skipped")
        return await self._advance()

    async def _show_pledge(self) -> list[Reply]:
        step = self._current_material()
        if step is None or not step.pledge:
            return await self._reprompt()
        self.s.stage = Stage.pledge
        return await self._reprompt()

    async def _accept_pledge(self) -> list[Reply]:
        if self.s.stage is not Stage.pledge:
            return await self._reprompt()
        step = self._step(self._plan())
        assert isinstance(step, Material) and step.pledge
        self.s.materials[step.key] = MaterialEntry(kind="pledge", pledge=step.pledge)
        self.s.stage = Stage.collect
        return [TextReply(text=self.p.pledge_recorded), *await self._advance()]

    # ---- moving around -------------------------------------------------------------------------
    async def _advance(self) -> list[Reply]:
        """Go to the first unanswered step, or to the confirmation when none is left."""
        nxt = self._next_open()
        if nxt is None:
            self.s.stage = Stage.confirm
            return [self._summary()]
        return await self._goto(nxt)

    async def _goto(self, step: int) -> list[Reply]:
        self.s.stage, self.s.step = Stage.collect, step
        return await self._ask()

    def _next_open(self) -> int | None:
        plan = self._plan()
        for i, step in enumerate(self._steps(plan)):
            if isinstance(step, FieldSpec) and step.key not in self.s.answers and not step.optional:
                return i
            if isinstance(step, Material) and step.key not in self.s.materials:
                return i
        return None

    async def _back(self) -> list[Reply]:
        if self.s.stage is Stage.confirm:
            return await self._goto(self._total(self._plan()) - 1)
        if self.s.stage is Stage.pledge:
            self.s.stage = Stage.collect
            return await self._ask()
        if self.s.stage is not Stage.collect:
            return [TextReply(text=self.p.nothing_to_cancel)] if self.s.stage is Stage.idle else await self._reprompt()
        if self.s.step == 0:
            return [TextReply(text=self.p.at_first_step), *await self._ask()]
        return await self._goto(self.s.step - 1)

    async def _edit(self, key: str | None) -> list[Reply]:
        if self.s.stage not in (Stage.collect, Stage.confirm, Stage.edit) or not self.s.target:
            return [TextReply(text=self.p.nothing_to_cancel)]
        steps = self._steps(self._plan())
        if key is not None:
            index = next((i for i, st in enumerate(steps) if st.key == key), None)
            if index is not None:
                self.s.stage, self.s.step = Stage.collect, index
                return await self._ask()
        self.s.stage = Stage.edit
        options = [Option(label=render.step_label(st), value=f"/edit {st.key}") for st in steps
                   if st.key in self.s.answers or st.key in self.s.materials]
        return [ChoicesReply(text=self.p.edit_which, options=options)]

    async def _cancel(self) -> list[Reply]:
        if self.s.stage in (Stage.idle, Stage.offered, Stage.clarify):
            self.s.reset()
            return [TextReply(text=self.p.nothing_to_cancel)]
        self.s.reset()
        return [TextReply(text=self.p.cancelled)]

    async def _hello(self) -> list[Reply]:
        unread = await self.e._inbox.take_unread(self.user, self.e._clock())
        news: list[Reply] = [TextReply(text="\n".join([self.p.unread_title, *unread]))] if unread else []
        for ticket in await self.e._feedback.awaiting_answer(self.user):
            news.append(ChoicesReply(text=self.p.rectified_ask.format(number=ticket.case_number, result=ticket.result),
                                     options=[Option(label=self.p.rectified_yes, value=f"/rectified {ticket.id} yes"),
                                              Option(label=self.p.rectified_no, value=f"/rectified {ticket.id} no")]))
        return news + await self._fees_due() + await self._greet_or_resume()

    async def _greet_or_resume(self) -> list[Reply]:
        if self.s.stage in (Stage.collect, Stage.confirm, Stage.reuse, Stage.pledge, Stage.edit):
            return [TextReply(text=self.p.resume.format(name=self._target().name)), *await self._reprompt()]
        return await self._start_correction() or [TextReply(text=self.p.greeting)]

    async def _human(self) -> list[Reply]:
        return [TextReply(text=self.p.human_offer)]

    async def _help(self) -> list[Reply]:
        return [TextReply(text=self.p.help), *await self._reprompt()]

    # ---- submitting ------------------------------------------------------------------------------
    async def _submit(self) -> list[Reply]:
        if self.s.stage is not Stage.confirm or not self.s.target or not self.s.submit_key:
            if self.s.last_case:
                return [TextReply(text=self.p.already_submitted.format(number=self.s.last_case))]
            return [TextReply(text=self.p.nothing_to_cancel)]
        if self._next_open() is not None:
            return await self._advance()
        if self.s.correcting:
            return await self._resubmit()
        target, plan = self._target(), self._plan()
        if needs_real_name(target, plan) and not await self.e._identity.verify(
                self.user, self.s.answers.get("applicant_name", ""), self.s.answers.get("id_number", "")):
            return [TextReply(text=self.p.real_name_failed), self._summary()]
        now = self.e._clock()
        deadline = self.c.calendar.add_workdays(china_date(now), target.promised_days)
        new_case = NewCase(
            user=self.user, target=target.key, target_name=target.name,
            item_codes=[i.code for i in target.items],
            fields={k: v for k, v in self.s.answers.items() if plan.field(k)},
            materials=[CaseMaterial(key=m.key, name=m.name, entry=self.s.materials.get(m.key))
                       for m in plan.materials],
            submitted_at=now, promised_date=deadline.date, provisional_date=deadline.provisional,
            idempotency_key=self.s.submit_key)
        case = await self.e._cases.submit(new_case, self.e._settings.case_number_prefix)
        await self._remember(plan)
        summary = self._summary(title=self.p.case_title.format(number=case.number), actions=False)
        self.s.reset()
        self.s.last_case = case.number
        note = self.p.provisional_note if deadline.provisional else ""
        text = self.p.submitted.format(number=case.number, date=deadline.date.isoformat(), provisional=note)
        return [TextReply(text=text), summary]

    async def _remember(self, plan: Plan) -> None:
        profile = await self.e._profiles.load(self.user)
        fields = {k: v for k, v in self.s.answers.items() if (spec := plan.field(k)) and spec.reusable}
        materials = {k: m for k, m in self.s.materials.items() if m.kind in ("upload", "licence")}
        await self.e._profiles.save(self.user, Profile(fields={**profile.fields, **fields},
                                                       materials={**profile.materials, **materials}))

    # ---- asking ----------------------------------------------------------------------------------
    async def _ask(self) -> list[Reply]:
        step = self._step(self._plan())
        if isinstance(step, FieldSpec):
            return [render.field_step(step, self.s.answers.get(step.key), self._progress())]
        settings = self.e._settings
        reply = render.material_step(step, await self._licences(), self.p, list(settings.allowed_types),
                                     settings.max_upload_bytes, self._progress())
        if step.key in self.s.fix:
            reply.text += self.p.correction_reason.format(reason=self.s.fix[step.key])
        return [reply]

    def _summary(self, title: str | None = None, actions: bool = True) -> CardReply:
        return render.summary(self._target().name, self._plan(), self.s, self.p, title, actions)

    async def _reprompt(self) -> list[Reply]:
        """Repeat what the bot is waiting for, so the user always knows the next move."""
        stage = self.s.stage
        if stage is Stage.collect:
            return await self._ask()
        if stage is Stage.confirm:
            return [self._summary()]
        if stage is Stage.reuse:
            return [render.reuse_question(self._plan(), self.s, self.p)]
        if stage is Stage.edit:
            return await self._edit(None)
        if stage is Stage.pledge:
            step = self._step(self._plan())
            assert isinstance(step, Material)
            return [render.pledge_question(step, self.p)]
        if stage in (Stage.rate_level, Stage.rate_tags, Stage.rate_text):
            return [self._rating_question()]
        if stage is Stage.clarify:
            return [TextReply(text=self.p.clarify_again)]
        if stage is Stage.offered:
            return [TextReply(text=self.p.ask_next)]
        return []

    # ---- helpers ---------------------------------------------------------------------------------
    async def _licences(self) -> set[str]:
        return await self.e._licences.available(self.user, self.s.answers.get("id_number"))

    def _target(self) -> Target:
        target = self.c.catalog.target(self.s.target or "")
        if target is None:  # the item was removed from the catalog since the user started
            raise _TargetGone(self.s.target)
        return target

    def _plan(self) -> Plan:
        plan = self.c.scripts.plan(self._target())
        if self.s.correcting:  # only the materials staff returned for correction
            return dataclasses.replace(plan, fields=(), materials=tuple(m for m in plan.materials if m.key in self.s.fix))
        return plan

    @staticmethod
    def _steps(plan: Plan) -> list[FieldSpec | Material]:
        return [*plan.fields, *plan.materials]

    def _total(self, plan: Plan) -> int:
        return len(plan.fields) + len(plan.materials)

    def _step(self, plan: Plan) -> FieldSpec | Material:
        steps = self._steps(plan)
        return steps[min(self.s.step, len(steps) - 1)]

    def _current_material(self) -> Material | None:
        if self.s.stage not in (Stage.collect, Stage.pledge) or not self.s.target:
            return None
        step = self._step(self._plan())
        return step if isinstance(step, Material) else None

    def _progress(self) -> Progress:
        return Progress(current=self.s.step + 1, total=self._total(self._plan()))

