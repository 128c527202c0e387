"""长辈模式 short prompt variants (intents/scripts/prompts.yaml `short:`) and sentences recognised by their template."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.dialogue.prompts import Prompts, filled


def with_short(content, **short: str) -> Prompts:
    return Prompts.model_validate({**content.prompts.model_dump(), "short": short})


def test_the_elder_prompts_are_the_short_variants_and_the_rest_unchanged(content) -> None:
    prompts = content.prompts
    assert prompts.elder.greeting == prompts.short["greeting"] != prompts.greeting
    assert prompts.elder.error_name == prompts.error_name
    assert len(prompts.elder.help) < len(prompts.help)


@pytest.mark.parametrize(("short", "reason"), [
    ({"greting": "您好！"}, "no sentence of that key"),
    ({"status_labels": "已受理"}, "no sentence of that key"),
    ({"apply_start": "开始办理「{name}」，共{count}步，{days}天。"}, "placeholders the sentence does not have: days"),
], ids=["unknown key", "not a sentence", "new placeholder"])
def test_a_short_variant_must_shorten_a_sentence_with_its_own_placeholders(content, short, reason) -> None:
    with pytest.raises(ValidationError, match=reason):
        with_short(content, **short)
    assert with_short(content, apply_start="开始办理「{name}」。").elder.apply_start == "开始办理「{name}」。"


def test_a_sentence_is_recognised_by_its_template_whatever_fills_it() -> None:
    fee_due = filled("办件 {number} 已受理，需缴费 {amount} 元。回复「缴费」即可在线支付。")
    assert fee_due.fullmatch("办件 DLH20261127000001 已受理，需缴费 20.00 元。回复「缴费」即可在线支付。")
    assert not fee_due.fullmatch("办件 DLH20261127000001 进度：已受理。")
    assert not fee_due.fullmatch("办件 DLH1 已受理，需缴费 20.00 元。回复「缴费」即可在线支付。另有说明")
