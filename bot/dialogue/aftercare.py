"""After submission, in the chat: correcting a returned case, withdrawing one, and rating a finished one (好差评).

A mixin of the engine's turn (bot/dialogue/engine.py `_Turn`): it uses the turn's state (`s`), prompts (`p`),
engine ports (`e`), content (`c`) and its `_advance` / `_reprompt`.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from bot.dialogue.replies import ChoicesReply, Option, Reply, TextReply
from bot.dialogue.state import Stage
from bot.lifecycle import OPEN, CaseStatus
from bot.cases import CaseEvent, StaleCase
from bot.ratings import BAD_TAGS, GOOD_TAGS, RATING_LABELS, RatingLevel

if TYPE_CHECKING:
    from bot.content import Content
    from bot.dialogue.engine import Engine
    from bot.dialogue.prompts import Prompts
    from bot.dialogue.state import Conversation


class AftercareFlows:
    e: "Engine"
    c: "Content"
    p: "Prompts"
    s: "Conversation"
    user: str

    if TYPE_CHECKING:  # provided by the engine's turn
        async def _advance(self) -> list[Reply]: ...
        async def _reprompt(self) -> list[Reply]: ...

    async def _rate(self, verb: str, arg: str) -> list[Reply]:
        """好差评 in four taps: which case, the level, tags, a few words (or 跳过)."""
        s, p = self.s, self.p
        if verb == "rate":
            cases = await self.e._feedback.rateable(self.user)
            chosen = next((c for c in cases if c.number == arg), cases[0] if len(cases) == 1 else None)
            if not cases:
                return [TextReply(text=p.rate_none)]
            if chosen is None:
                return [ChoicesReply(text=p.rate_which, options=[
                    Option(label=f"{c.target_name} {c.number}", value=f"/rate {c.number}") for c in cases])]
            s.reset()
            s.stage, s.rating_case = Stage.rate_level, chosen.number
            return await self._reprompt()
        if verb == "rate_level" and s.stage is Stage.rate_level and arg.isdigit() and 1 <= int(arg) <= 5:
            s.stage, s.rating_level, s.rating_tags = Stage.rate_tags, int(arg), []
        elif verb == "rate_tag" and s.stage is Stage.rate_tags and arg in self._tag_choices():
            s.rating_tags.append(arg)
        elif verb == "rate_tags_done" and s.stage is Stage.rate_tags:
            s.stage = Stage.rate_text
        elif verb in ("rate_text", "rate_skip") and s.stage is Stage.rate_text and s.rating_case and s.rating_level:
            comment = arg if verb == "rate_text" else ""
            if comment and not await self.e._content_check.acceptable(self.user, comment):
                return [TextReply(text=p.content_risky), *await self._reprompt()]  # not stored; asked again
            rating = await self.e._feedback.rate(self.user, s.rating_case, RatingLevel(s.rating_level), s.rating_tags,
                                                 comment)
            s.reset()
            if rating is None:
                return [TextReply(text=p.rate_none)]
            return [TextReply(text=p.rate_thanks_bad if rating.level.bad else p.rate_thanks)]
        return await self._reprompt()
    def _tag_choices(self) -> list[str]:
        tags = BAD_TAGS if self.s.rating_level and RatingLevel(self.s.rating_level).bad else GOOD_TAGS
        return [t for t in tags if t not in self.s.rating_tags]
    async def _withdraw(self, number: str | None, confirmed: bool) -> list[Reply]:
        """撤回: pick one of the user's open cases, confirm, and withdraw it (recorded like any status change)."""
        open_cases = [c for c in await self.e._cases.list_for_user(self.user) if CaseStatus(c.status) in OPEN]
        if not open_cases:
            return [TextReply(text=self.p.withdraw_none)]
        case = next((c for c in open_cases if c.number == number), None)
        if case is None:
            options = [Option(label=f"{c.target_name} {c.number}", value=f"/withdraw {c.number}") for c in open_cases]
            return [ChoicesReply(text=self.p.withdraw_which, options=options)]
        if not confirmed:
            return [ChoicesReply(text=self.p.withdraw_confirm.format(name=case.target_name, number=case.number),
                                 options=[Option(label=self.p.withdraw_yes, value=f"/withdraw_confirm {case.number}"),
                                          Option(label=self.p.withdraw_no, value="/help")])]
        event = CaseEvent(at=self.e._clock(), actor=f"citizen:{self.user}", from_status=case.status,
                          to_status=CaseStatus.withdrawn.value, reason=self.p.withdraw_reason)
        try:
            await self.e._cases.transition(case.number, case.status, event)
        except StaleCase:
            return [TextReply(text=self.p.correction_stale.format(number=case.number))]
        return [TextReply(text=self.p.withdrawn.format(number=case.number))]
    async def _correct(self) -> list[Reply]:
        return await self._start_correction() or [TextReply(text=self.p.correction_none)]
    async def _start_correction(self) -> list[Reply] | None:
        """If staff returned one of the user's cases for correction, ask exactly for the materials to fix."""
        returned = [c for c in await self.e._cases.list_for_user(self.user) if c.status == CaseStatus.returned.value]
        if not returned:
            return None
        case = returned[-1]
        events = [e for e in await self.e._cases.events(case.number) if e.to_status == CaseStatus.returned.value]
        fix = {str(k): str(v) for k, v in (events[-1].detail.get("materials") or {}).items()} if events else {}
        if not fix or self.c.catalog.target(case.target) is None:
            return None
        self.s.start(case.target, uuid.uuid4().hex)
        self.s.correcting, self.s.fix = case.number, fix
        names = {m.key: m.name for m in case.materials}
        lines = [f"· {names.get(k, k)}：{reason}" for k, reason in fix.items()]
        return [TextReply(text="\n".join([self.p.correction_needed.format(number=case.number), *lines])),
                *await self._advance()]
    async def _resubmit(self) -> list[Reply]:
        """Send the corrected materials back: the case returns to pre-review, with the event recorded."""
        number = self.s.correcting
        assert number is not None
        event = CaseEvent(at=self.e._clock(), actor=f"citizen:{self.user}", from_status=CaseStatus.returned.value,
                          to_status=CaseStatus.submitted.value, reason="补正", detail={"materials": list(self.s.fix)})
        try:
            await self.e._cases.transition(number, CaseStatus.returned.value, event, dict(self.s.materials))
        except StaleCase:
            self.s.reset()
            return [TextReply(text=self.p.correction_stale.format(number=number))]
        self.s.reset()
        self.s.last_case = number
        return [TextReply(text=self.p.correction_submitted.format(number=number))]

    def _rating_question(self) -> ChoicesReply:
        """What the rating dialogue waits for: a level, tags, or a few words."""
        p, stage = self.p, self.s.stage
        if stage is Stage.rate_level:
            return ChoicesReply(text=p.rate_level.format(number=self.s.rating_case), options=[
                Option(label=RATING_LABELS[level], value=f"/rate_level {int(level)}") for level in RatingLevel])
        if stage is Stage.rate_tags:
            options = [Option(label=t, value=f"/rate_tag {t}") for t in self._tag_choices()]
            return ChoicesReply(text=p.rate_tags, options=[*options, Option(label=p.rate_done, value="/rate_tags_done")])
        return ChoicesReply(text=p.rate_text, options=[Option(label=p.material_skip, value="/rate_skip")])
