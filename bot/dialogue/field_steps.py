"""Steps that ask for a form field: free text (name, ID number, phone, address, number), a choice, a date."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bot.dialogue.fields import FieldSpec, FieldType
from bot.dialogue.replies import FormStepReply, Option, Progress, Reply, TextReply
from bot.dialogue.state import Conversation
from bot.dialogue.steps import Accepted, Answer, Rejected, StepResult
from bot.dialogue.validation import Invalid, mask, validate
from bot.workdays import china_date

if TYPE_CHECKING:
    from bot.dialogue.context import TurnContext
    from bot.dialogue.script import StepRef, StepSources


@dataclass(frozen=True)
class FieldStep:
    """A typed answer, checked by the field's type (bot/dialogue/validation.py)."""

    spec: FieldSpec
    is_material = False

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def optional(self) -> bool:
        return self.spec.optional

    @classmethod
    def build(cls, ref: "StepRef", sources: "StepSources") -> "FieldStep":
        return cls(sources.field(ref))

    def options(self) -> list[Option]:
        return []

    async def ask(self, ctx: "TurnContext", progress: Progress) -> Reply:
        spec, current = self.spec, ctx.state.answers.get(self.spec.key)
        return FormStepReply(key=spec.key, label=spec.label, input=spec.type.value, text=spec.prompt, hint=spec.hint,
                             options=self.options(), current_value=mask(spec, current) if current else None,
                             progress=progress)

    async def accept(self, ctx: "TurnContext", answer: Answer) -> StepResult:
        if not isinstance(answer, str):
            return None
        value = validate(self.spec, answer, china_date(ctx.ports.clock()), ctx.content.dates)
        if isinstance(value, Invalid):
            return Rejected((TextReply(text=getattr(ctx.prompts, value.message).format(**value.params)),))
        ctx.state.answers[self.spec.key] = value
        return Accepted()

    def done(self, state: Conversation) -> bool:
        return self.spec.key in state.answers


@dataclass(frozen=True)
class ChoiceStep(FieldStep):
    """One of the field's options, shown as buttons (and numbered on text-only channels)."""

    forced_type: ClassVar[FieldType | None] = FieldType.choice

    def options(self) -> list[Option]:
        return [Option(label=o, value=o) for o in self.spec.options]


@dataclass(frozen=True)
class DateStep(FieldStep):
    """A date (2026-11-20, 11月20号, 上个月20号, 前天 …: bot/dialogue/dates.py), in the past or future as the field
    says; the client shows a picker."""

    forced_type: ClassVar[FieldType | None] = FieldType.date


def field_kind(spec: FieldSpec) -> str:
    """The step kind a script entry naming this field gets when it names none."""
    return {FieldType.choice: "choice", FieldType.date: "date"}.get(spec.type, "field")
