"""mask_text: personal numbers inside free text (a staff answer quoted in a subscribe message) are masked."""
from __future__ import annotations

from bot.privacy import mask_text


def test_numbers_in_text_are_masked_and_other_text_kept() -> None:
    assert mask_text("身份证63280219900101001X，电话13800138000。") == "身份证632802********001X，电话138****8000。"
    assert mask_text("办件编号DLH20261127000001，共3份材料") == "办件编号DLH20261127000001，共3份材料"
