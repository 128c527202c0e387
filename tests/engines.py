"""An engine on SQLite and the memory session store, for tests that drive the dialogue without HTTP."""
from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from storage.engine import open_engine

from bot.content import Content
from bot.content_check import PermissiveContentCheck
from bot.dialogue.engine import Engine, EngineSettings
from bot.feedback import Feedback, FeedbackSettings
from bot.identity import SandboxIdentityVerifier
from bot.licences import SandboxLicences
from bot.payments.sandbox import SandboxPay
from bot.payments.service import Payments, PaymentSettings
from bot.clock import utc_now
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


@asynccontextmanager
async def memory_engine(content: Callable[[], Content], tmp_path: Path,
                        licences: frozenset[str] = frozenset()) -> AsyncIterator[tuple[Engine, MemorySessionStore]]:
    """The engine with every collaborator real (SQLite under tmp_path) and its session store."""
    db = open_engine(f"sqlite+aiosqlite:///{tmp_path}/engine.db")
    await upgrade(db)
    cipher = FieldCipher(os.urandom(32))
    now = utc_now
    hasher = KeyedHash(os.urandom(32))
    sessions, cases = MemorySessionStore(3600), SqlCases(db, cipher, hasher, now)
    log = logging.getLogger("tests.engine")
    payments = Payments(SandboxPay(now, log), SqlPayments(db), cases, content, now, PaymentSettings(), log)
    engine = Engine(content, sessions, cases, SqlProfiles(db, cipher, now), LocalBlobStore(tmp_path / "blobs", db, now, BlobSealer(cipher, hasher)),
                    SandboxLicences(set(licences)), EngineSettings(200_000, ("image/png",), "DLH"), now, SqlInbox(db),
                    Feedback(SqlRatings(db), cases, content, now, FeedbackSettings(), SqlAudit(db, now)), payments,
                    identity=SandboxIdentityVerifier((), now), content_check=PermissiveContentCheck())
    try:
        yield engine, sessions
    finally:
        await db.dispose()
