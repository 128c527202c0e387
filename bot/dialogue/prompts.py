"""Bot texts, loaded from intents/scripts/prompts.yaml so the product team can edit them."""
from __future__ import annotations

import re
import string
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content_errors import load_model
from bot.lifecycle import CaseStatus


class Prompts(BaseModel):
    """Every sentence the engine says; all keys are required so a missing one fails at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str
    no_match: str
    out_of_scope: str  # a request that is not a public service (none from the out-of-scope examples)
    human_offer: str
    clarify: str
    clarify_again: str
    offer: str
    ask_next: str
    materials_title: str
    materials_none: str
    time_answer: str
    fee_free: str
    fee_answer: str
    conditions_title: str
    location_title: str
    legal_title: str
    no_item_yet: str
    apply_start: str
    reuse_offer: str
    reuse_yes: str
    reuse_no: str
    material_prompt: str
    material_optional: str
    material_upload: str
    material_licence: str
    material_defer: str
    material_pledge: str
    material_skip: str
    material_received: str
    material_licence_used: str
    material_deferred: str
    pledge_text: str
    pledge_accept: str
    pledge_recorded: str
    upload_expected: str
    upload_not_expected: str
    upload_too_large: str
    upload_bad_type: str
    upload_empty: str
    confirm_title: str
    confirm_submit: str
    confirm_edit: str
    submitted: str
    provisional_note: str
    cancelled: str
    nothing_to_cancel: str
    at_first_step: str
    edit_which: str
    resume: str
    help: str
    error_name: str
    error_id_length: str
    error_id_birth: str
    error_id_checksum: str
    error_phone: str
    error_length: str
    error_choice: str
    error_date: str
    error_date_past: str
    error_date_future: str
    error_number: str
    error_pattern: str
    item_gone: str
    correction_needed: str
    correction_reason: str
    correction_submitted: str
    correction_stale: str
    correction_none: str
    progress_submitted: str
    progress_status: str
    progress_reason: str
    status_labels: dict[str, str]
    unread_title: str
    rate_invite: str
    progress_fee_due: str
    progress_paid: str
    progress_refunded: str
    pay_none: str
    pay_which: str
    pay_request: str
    pay_due: str
    pay_now: str
    pay_unavailable: str
    plain_pick: str
    plain_say: str
    plain_current: str
    plain_photo: str
    plain_pay: str
    pay_card: str
    plain_unsupported: str
    withdraw_none: str
    withdraw_which: str
    withdraw_confirm: str
    withdraw_yes: str
    withdraw_no: str
    withdraw_reason: str
    withdrawn: str
    rate_none: str
    rate_which: str
    rate_level: str
    rate_tags: str
    rate_done: str
    rate_text: str
    rate_thanks: str
    rate_thanks_bad: str
    rectified_ask: str
    rectified_yes: str
    rectified_no: str
    rectified_thanks: str
    rectified_reopened: str
    rectified_nothing: str
    progress_rectified: str
    delivered_window: str
    delivered_mail: str
    delivered_elicence: str
    pledge_confirmed: str
    pledge_false: str
    pledge_refusal_reason: str
    escalated_callback: str
    escalated_rectify: str
    reopened_notice: str
    real_name_failed: str
    content_risky: str
    subscribe_phrases: dict[str, str]
    retry_later: str
    state_lost: str
    state_resumed: str
    already_submitted: str
    none_of_these: str
    ask_human: str
    back_label: str
    cancel_label: str
    summary_item: str
    case_title: str
    entry_upload: str
    entry_licence: str
    entry_deferred: str
    entry_received: str
    entry_pledge: str
    entry_skipped: str
    to_confirm: str
    not_stated: str
    consult_phone: str
    talk_greeting: str
    talk_presence: str
    talk_thanks: str
    talk_goodbye: str
    cancel_confirm: str
    cancel_yes: str
    cancel_no: str
    cancel_kept: str
    cases_none: str
    cases_title: str
    case_line: str
    case_promised: str
    case_fee_due: str
    case_more: str
    case_states: dict[str, str]
    error_phone_length: str
    error_phone_first: str
    error_phone_prefix: str
    on_site_notice: str
    on_site_bring: str
    on_site_by_office: str
    on_site_places: str
    on_site_result: str
    on_site_booking: str
    on_site_no_booking: str
    handoff_pick: str
    handoff_queued: str
    handoff_assigned: str
    handoff_callback: str
    handoff_noted: str
    handoff_waiting: str
    handoff_end: str
    handoff_claimed: str
    handoff_transferred: str
    handoff_closed: str
    handoff_left: str
    handoff_rate: str
    handoff_rated_none: str
    handoff_offer: str
    handoff_offer_step: str
    escalated_handoff: str
    bundle_on_site: str
    # 长辈模式 (fewer words per message): shorter variants of some sentences, by the key they replace.
    short: dict[str, str] = Field(default_factory=dict)

    @field_validator("case_states")
    @classmethod
    def _every_status(cls, states: dict[str, str]) -> dict[str, str]:
        missing = [status.value for status in CaseStatus if status.value not in states]
        if missing:
            raise ValueError(f"missing case states: {', '.join(missing)}")
        return states

    @model_validator(mode="after")
    def _short_variants(self) -> "Prompts":
        """A short variant replaces a sentence of the same key and fills no placeholder the long one lacks."""
        for key, text in self.short.items():
            long = getattr(self, key, None) if key != "short" else None
            if not isinstance(long, str):
                raise ValueError(f"short.{key}: no sentence of that key to shorten")
            extra = _placeholders(text) - _placeholders(long)
            if extra:
                raise ValueError(f"short.{key}: placeholders the sentence does not have: {', '.join(sorted(extra))}")
        return self

    @cached_property
    def elder(self) -> "Prompts":
        """The prompts of 长辈模式: the short variants where there are some."""
        return self.model_copy(update=self.short)

    @classmethod
    def load(cls, path: Path) -> "Prompts":
        return load_model(path, cls, path.parent.parent)


def filled(template: str) -> re.Pattern[str]:
    """A pattern matching every sentence made from `template`, whatever fills its placeholders."""
    return re.compile("".join(re.escape(literal) + (".+?" if name else "")
                              for literal, name, _, _ in string.Formatter().parse(template)))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
