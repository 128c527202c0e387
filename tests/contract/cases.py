"""A submitted case as the chat would store it, for the store contract tests."""
from __future__ import annotations

import os
from datetime import date, datetime, timezone

from bot.cases import CaseMaterial, NewCase
from bot.dialogue.state import MaterialEntry
from storage.cipher import KeyedHash

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
HASH = KeyedHash(os.urandom(32))


def new_case(key: str, when: datetime = NOW) -> NewCase:
    return NewCase(user="u1", target="GA0020000", target_name="居民身份证换领", item_codes=["GA0020000"],
                   fields={"applicant_name": "张三", "id_number": "11010519491231002X"},
                   materials=[CaseMaterial(key="id_photo", name="照片", entry=MaterialEntry(kind="deferred"))],
                   submitted_at=when, promised_date=date(2026, 12, 18), provisional_date=False,
                   idempotency_key=key)
