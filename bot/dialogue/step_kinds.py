"""The registry of step kinds: the `kind:` of a script entry names the class that runs it.

A new kind is one class with `build(ref, sources)` and the Step protocol (bot/dialogue/steps.py), and one line here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.dialogue.field_steps import ChoiceStep, DateStep, FieldStep
from bot.dialogue.material_steps import MaterialStep

if TYPE_CHECKING:
    from bot.dialogue.script import StepRef, StepSources
    from bot.dialogue.steps import Step


class StepKind(Protocol):
    def build(self, ref: "StepRef", sources: "StepSources") -> "Step":
        """The step of one script entry, resolved against the field library and the target's materials."""


STEP_KINDS: dict[str, StepKind] = {
    "field": FieldStep,        # free text: name, ID number, phone, address, number, text
    "choice": ChoiceStep,      # one of the field's options
    "date": DateStep,          # a date in the field's range
    "material": MaterialStep,  # an upload, 电子证照, 容缺, 告知承诺 or 跳过 (bot/dialogue/material_steps.py)
}
