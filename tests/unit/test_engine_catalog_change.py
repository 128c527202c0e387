"""A conversation about an item that is withdrawn from the catalog ends politely instead of failing forever."""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog import Catalog
from bot.content_check import PermissiveContentCheck
from bot.clock import utc_now
from bot.dialogue.engine import Engine, EngineSettings, Inbound
from bot.feedback import Feedback, FeedbackSettings
from bot.identity import SandboxIdentityVerifier
from bot.dialogue.state import Stage
from bot.licences import SandboxLicences
from bot.payments.sandbox import SandboxPay
from bot.payments.service import Payments, PaymentSettings
from storage.blob_sealing import BlobSealer
from storage.blobs import LocalBlobStore
from storage.cipher import FieldCipher, KeyedHash
from storage.migrate import upgrade
from storage.outbox import SqlInbox
from storage.payments import SqlPayments
from storage.ratings import SqlRatings
from storage.staff import SqlAudit
from storage.sessions import MemorySessionStore
from storage.sql import SqlCases, SqlProfiles


async def test_withdrawn_item_resets_the_conversation(content, tmp_path: Path) -> None:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/e.db")
    await upgrade(db)
    cipher = FieldCipher(os.urandom(32))
    current = {"content": content}
    sessions = MemorySessionStore(3600)
    hasher = KeyedHash(os.urandom(32))
    cases = SqlCases(db, cipher, hasher, utc_now)
    now = utc_now
    payments = Payments(SandboxPay(now, logging.getLogger("t")), SqlPayments(db), cases, lambda: current["content"],
                        now, PaymentSettings(), logging.getLogger("t"))
    engine = Engine(lambda: current["content"], sessions, cases, SqlProfiles(db, cipher, utc_now),
                    LocalBlobStore(tmp_path / "b", db, utc_now, BlobSealer(cipher, hasher)), SandboxLicences(set()),
                    EngineSettings(1000, ("image/png",), "DLH"), now,
                    SqlInbox(db), Feedback(SqlRatings(db), cases, lambda: current["content"], now, FeedbackSettings(),
                                            SqlAudit(db, now)),
                    payments, identity=SandboxIdentityVerifier((), now), content_check=PermissiveContentCheck())
    await engine.handle("u", Inbound(text="身份证过期了"))
    await engine.handle("u", Inbound(text="/apply"))
    items = [i for code, i in content.catalog.items.items() if code != "GA0020000"]
    current["content"] = dataclasses.replace(content, catalog=Catalog(items, []))
    replies = await engine.handle("u", Inbound(text="张三"))
    assert "已经调整" in replies[0].text
    async with sessions.session("u") as session:
        assert (await session.load()).stage is Stage.idle
    replies = await engine.handle("u", Inbound(text="/hello"))
    assert "政务服务小助手" in replies[0].text
    await db.dispose()
