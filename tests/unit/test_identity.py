"""实名核验: which applications need it, the sandbox verifier (full-width digits included), asking once per user and
identity, and the search hash of a 身份证号."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from bot.content import Content
from bot.identity import RememberingVerifier, SandboxIdentityVerifier, needs_real_name
from storage.cipher import KeyedHash

VALID_ID = "11010519491231002X"
OTHER_VALID_ID = "632802198511200023"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)


def test_forms_asking_for_the_applicants_name_and_id_number_need_it(content: Content) -> None:
    renewal = content.catalog.target("GA0020000")
    assert renewal is not None and needs_real_name(renewal, content.scripts.plan(renewal))
    opted_out = renewal.items[0].model_copy(update={"needs_real_name": False})
    target = dataclasses.replace(renewal, items=(opted_out,))
    assert not needs_real_name(target, content.scripts.plan(renewal))
    without_id = [t for t in (content.catalog.target(code) for code in content.catalog.items)
                  if t is not None and content.scripts.plan(t).field("id_number") is None]
    assert without_id and not any(needs_real_name(t, content.scripts.plan(t)) for t in without_id)


async def test_sandbox_accepts_valid_numbers_except_the_deny_list() -> None:
    verifier = SandboxIdentityVerifier([OTHER_VALID_ID.lower()], lambda: NOW)
    assert await verifier.verify("u1", "张三", VALID_ID)
    assert await verifier.verify("u1", "张三", VALID_ID.lower())
    assert not await verifier.verify("u1", "张三", OTHER_VALID_ID)
    assert not await verifier.verify("u1", "张三", "110105194912310021")  # checksum
    assert not await verifier.verify("u1", "", VALID_ID)


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


async def test_the_deny_list_holds_against_full_width_and_other_digits() -> None:
    verifier = SandboxIdentityVerifier([OTHER_VALID_ID], lambda: NOW)
    assert not await verifier.verify("u1", "张三", full_width(OTHER_VALID_ID))
    assert not await verifier.verify("u1", "张三", full_width(OTHER_VALID_ID).lower())
    arabic_indic = "".join(chr(0x0660 + int(ch)) if ch.isdigit() else ch for ch in VALID_ID)
    assert not await verifier.verify("u1", "张三", arabic_indic)
    assert await verifier.verify("u1", "张三", full_width(VALID_ID))


class CountingVerifier:
    def __init__(self, answer: bool) -> None:
        self.answer, self.calls = answer, 0

    async def verify(self, user: str, name: str, id_number: str) -> bool:
        self.calls += 1
        return self.answer


class MemoryIdentities:
    def __init__(self) -> None:
        self.known_ones: set[tuple[str, str, str]] = set()

    async def known(self, user: str, name: str, id_number: str) -> bool:
        return (user, name, id_number) in self.known_ones

    async def remember(self, user: str, name: str, id_number: str, at: datetime) -> None:
        self.known_ones.add((user, name, id_number))


async def test_a_pass_is_remembered_a_refusal_is_asked_again() -> None:
    passing, refusing = CountingVerifier(True), CountingVerifier(False)
    remembered = RememberingVerifier(passing, MemoryIdentities(), lambda: NOW)
    for _ in range(3):
        assert await remembered.verify("u1", "张三", VALID_ID)
    assert passing.calls == 1
    assert await remembered.verify("u2", "张三", VALID_ID) and passing.calls == 2  # per user
    forgetful = RememberingVerifier(refusing, MemoryIdentities(), lambda: NOW)
    for _ in range(2):
        assert not await forgetful.verify("u1", "张三", VALID_ID)
    assert refusing.calls == 2


def test_the_search_hash_of_a_full_width_number_is_the_hash_of_its_ascii_form() -> None:
    hasher = KeyedHash(b"k" * 32)
    assert hasher.digest(full_width(VALID_ID)) == hasher.digest(VALID_ID) == hasher.digest(VALID_ID.lower() + " ")
    assert hasher.digest("١١٠") != hasher.digest("110")
