"""Pure builders of the replies that show what the citizen gave: the reuse offer and the summary card."""
from __future__ import annotations

from bot.dialogue.commands import Command, option
from bot.dialogue.field_steps import FieldStep
from bot.dialogue.fields import FieldType
from bot.dialogue.material_steps import MaterialStep
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import CardField, CardReply, ChoicesReply
from bot.dialogue.script import Plan
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


def reuse_question(plan: Plan, state: Conversation, p: Prompts) -> ChoicesReply:
    """List what the citizen gave before (sensitive values masked) and ask whether to reuse it."""
    lines = [f"· {spec.label}：{mask(spec, state.reuse_offer[spec.key])}"
             for spec in plan.fields if spec.key in state.reuse_offer]
    lines += [f"· {m.name}：{entry_label(state.reuse_materials[m.key], p)}"
              for m in plan.materials if m.key in state.reuse_materials]
    return ChoicesReply(text="\n".join([p.reuse_offer, *lines]),
                        options=[option(p.reuse_yes, Command.reuse, True), option(p.reuse_no, Command.reuse, False)])


def shown(step: FieldStep, value: str, reveal: bool) -> CardField:
    """One answer on the card, masked if sensitive; with `reveal`, the value a tap shows (the 身份证号 stays
    partly masked: the card shows it that way already)."""
    masked = mask(step.spec, value)
    full = reveal and masked != value and step.spec.type is not FieldType.id_number
    return CardField(label=step.label, value=masked, reveal=value if full else None)


def summary(target_name: str, plan: Plan, state: Conversation, p: Prompts, title: str | None = None,
            actions: bool = True) -> CardReply:
    """The application as it will be (or was) submitted, in the order it was asked, personal data masked.
    The confirm card (with actions) lets the citizen reveal their own masked values; the submitted one does not."""
    fields = [CardField(label=p.summary_item, value=target_name)]
    for step in plan.steps:
        if isinstance(step, FieldStep) and step.key in state.answers:
            fields.append(shown(step, state.answers[step.key], reveal=actions))
        elif isinstance(step, MaterialStep) and step.key in state.materials:
            fields.append(CardField(label=step.label, value=entry_label(state.materials[step.key], p)))
    buttons = [option(p.confirm_submit, Command.submit), option(p.confirm_edit, Command.edit),
               option(p.cancel_label, Command.cancel)]
    return CardReply(title=title or p.confirm_title, fields=fields, actions=buttons if actions else [])
