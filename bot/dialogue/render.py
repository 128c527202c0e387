"""Pure builders of the replies that ask for a step or show a summary (no state changes here)."""
from __future__ import annotations

from bot.catalog import Material
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import (CardField, CardReply, ChoicesReply, FormStepReply, MaterialStepReply, Option,
                                  Progress)
from bot.dialogue.script import FieldSpec, FieldType, Plan
from bot.dialogue.state import Conversation, MaterialEntry
from bot.dialogue.validation import mask


def entry_label(entry: MaterialEntry, p: Prompts) -> str:
    """How a provided material is shown back to the citizen."""
    return {
        "upload": p.entry_upload.format(filename=entry.filename or ""),
        "licence": p.entry_licence.format(licence=entry.licence),
        "deferred": p.entry_deferred,
        "received": p.entry_received,
        "pledge": p.entry_pledge,
        "skipped": p.entry_skipped,
    }[entry.kind].strip()


def step_label(step: FieldSpec | Material) -> str:
    return step.label if isinstance(step, FieldSpec) else step.name


def field_step(spec: FieldSpec, current: str | None, progress: Progress) -> FormStepReply:
    return FormStepReply(
        key=spec.key, label=spec.label, input=spec.type.value, text=spec.prompt, hint=spec.hint,
        options=[Option(label=o, value=o) for o in spec.options] if spec.type is FieldType.choice else [],
        current_value=mask(spec, current) if current else None, progress=progress)


def material_step(material: Material, licences: set[str], p: Prompts, accept: list[str], max_bytes: int,
                  progress: Progress) -> MaterialStepReply:
    """Ask for a material with every alternative the item allows: 电子证照, 容缺, 告知承诺, skip."""
    options = []
    if material.licence_type and material.licence_type in licences:
        options.append(Option(label=p.material_licence.format(licence=material.licence_type), value="/licence"))
    if material.deferrable:
        options.append(Option(label=p.material_defer, value="/defer"))
    if material.pledge:
        options.append(Option(label=p.material_pledge, value="/pledge"))
    if not material.required:
        options.append(Option(label=p.material_skip, value="/skip"))
    copies = f"（{material.copies}份）" if material.copies > 1 else ""
    text = p.material_prompt.format(name=material.name, copies=copies)
    if not material.required:
        text += p.material_optional
    return MaterialStepReply(key=material.key, name=material.name, text=text, required=material.required,
                             accept=accept, max_bytes=max_bytes, options=options, progress=progress)


def pledge_question(material: Material, p: Prompts) -> ChoicesReply:
    return ChoicesReply(text=p.pledge_text.format(text=material.pledge),
                        options=[Option(label=p.pledge_accept, value="/accept_pledge"),
                                 Option(label=p.back_label, value="/back")])


def reuse_question(plan: Plan, state: Conversation, p: Prompts) -> ChoicesReply:
    """List what the citizen gave before (sensitive values masked) and ask whether to reuse it."""
    lines = [f"· {spec.label}：{mask(spec, state.reuse_offer[spec.key])}"
             for spec in plan.fields if spec.key in state.reuse_offer]
    lines += [f"· {m.name}：{entry_label(state.reuse_materials[m.key], p)}"
              for m in plan.materials if m.key in state.reuse_materials]
    return ChoicesReply(text="\n".join([p.reuse_offer, *lines]),
                        options=[Option(label=p.reuse_yes, value="/reuse yes"),
                                 Option(label=p.reuse_no, value="/reuse no")])


def summary(target_name: str, plan: Plan, state: Conversation, p: Prompts, title: str | None = None,
            actions: bool = True) -> CardReply:
    """The application as it will be (or was) submitted, personal data masked."""
    fields = [CardField(label=p.summary_item, value=target_name)]
    fields += [CardField(label=f.label, value=mask(f, state.answers[f.key]))
               for f in plan.fields if f.key in state.answers]
    fields += [CardField(label=m.name, value=entry_label(state.materials[m.key], p))
               for m in plan.materials if m.key in state.materials]
    buttons = [Option(label=p.confirm_submit, value="/submit"), Option(label=p.confirm_edit, value="/edit"),
               Option(label=p.cancel_label, value="/cancel")]
    return CardReply(title=title or p.confirm_title, fields=fields, actions=buttons if actions else [])
