"""S3 server errors (500 InternalError, 503 SlowDown) are tried again before they count as an outage, against a
real HTTP server on loopback that answers like a busy bucket."""
from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import utc_now
from bot.ports import BlobStoreUnavailable
from storage import tables
from storage.blob_sealing import BlobSealer
from storage.cipher import FieldCipher, KeyedHash
from storage.migrate import upgrade
from storage.s3_blobs import S3BlobStore, S3Location
from storage.sigv4 import Credentials

CONTENT = b"%PDF-1.4 busy"  # stored in clear, as before encryption: its row has no data key
BLOB_ID = hashlib.sha256(CONTENT).hexdigest()
SEALER = BlobSealer(FieldCipher(os.urandom(32)), KeyedHash(os.urandom(32)))


class BusyBucket:
    """Answers the first `errors` requests with 503 SlowDown, then serves CONTENT."""

    def __init__(self, errors: int) -> None:
        self.errors, self.requests = errors, 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.requests <= self.errors:
            return web.Response(status=503, body=b"<Error><Code>SlowDown</Code></Error>")
        return web.Response(body=CONTENT)


async def store_on(bucket: BusyBucket, tmp_path: Path) -> AsyncIterator[S3BlobStore]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", bucket.handle)
    server = TestServer(app)
    await server.start_server()
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/s3.db")
    await upgrade(db)
    async with db.begin() as conn:
        await conn.execute(tables.blobs.insert().values(blob_id=BLOB_ID, mime="application/pdf", size=len(CONTENT),
                                                        created_at=utc_now(), claimed=True))
    store = S3BlobStore(db, S3Location(str(server.make_url("")), "bucket"), Credentials("key", "secret"),
                        aiohttp.ClientSession(), utc_now, SEALER)
    try:
        yield store
    finally:
        await store.close()
        await db.dispose()
        await server.close()


@pytest.mark.parametrize("errors", [1, 2])
async def test_a_busy_bucket_is_asked_again(tmp_path: Path, errors: int) -> None:
    bucket = BusyBucket(errors)
    async for store in store_on(bucket, tmp_path):
        assert await store.get(BLOB_ID) == CONTENT
    assert bucket.requests == errors + 1


async def test_a_bucket_still_failing_after_the_retries_is_an_outage(tmp_path: Path) -> None:
    bucket = BusyBucket(3)
    async for store in store_on(bucket, tmp_path):
        with pytest.raises(BlobStoreUnavailable, match="HTTP 503 SlowDown"):
            await store.get(BLOB_ID)
    assert bucket.requests == 3
