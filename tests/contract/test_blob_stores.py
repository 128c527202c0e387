"""Blob stores: one contract, run against the local filesystem and a real S3-compatible server (moto, run as a
subprocess, checking every request's SigV4 signature), with the metadata on SQLite and PostgreSQL, encryption at
rest and key rotation included; then what is particular to S3 (failures), and the SigV4 signer against the
examples AWS publishes."""
from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from bot.clock import utc_now
from bot.dialogue.state import MaterialEntry
from bot.ports import BlobStoreUnavailable
from bot.profiles import Profile
from storage import blobs as blobs_module
from storage import tables
from storage.blob_sealing import BlobSealer
from storage.blobs import ContentAddressedBlobStore, LocalBlobStore
from storage.cipher import FieldCipher
from storage.direct_pg import DirectPostgres
from storage.s3_blobs import S3BlobStore, S3Location
from storage.sigv4 import EMPTY_SHA256, Credentials, sign
from storage.sql import SqlCases, SqlProfiles
from tests.contract.cases import HASH, new_case
from tests.s3 import BUCKET, S3Server
from tests.servers import free_port

FIELD_KEY = os.urandom(32)
SEALER = BlobSealer(FieldCipher(FIELD_KEY), HASH)


@dataclass(frozen=True)
class Space:
    """Where a store under test keeps its objects, and a look at them that does not go through the store."""

    build: Callable[[AsyncEngine, BlobSealer], ContentAddressedBlobStore]
    objects: Callable[[], list[str]]  # the blob ids stored, sorted
    raw: Callable[[str], bytes]  # an object's bytes as stored
    write_raw: Callable[[str, bytes], None]  # an object written as the store did before encryption
    root: Path | None = None  # the local store's folder


def _s3_store(db: AsyncEngine, endpoint: str, credentials: Credentials, prefix: str = "",
              bucket: str = BUCKET, sealer: BlobSealer = SEALER) -> S3BlobStore:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    return S3BlobStore(db, S3Location(endpoint, bucket, prefix=prefix), credentials, session, utc_now, sealer)


def _local_path(root: Path, blob_id: str) -> Path:
    return root / blob_id[:2] / blob_id[2:4] / blob_id


def _write_legacy_file(root: Path, blob_id: str, data: bytes) -> None:
    path = _local_path(root, blob_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(params=["local", "s3"])
def space(request: pytest.FixtureRequest, tmp_path: Path) -> Space:
    if request.param == "local":
        root = tmp_path / "blobs"
        return Space(lambda db, sealer: LocalBlobStore(root, db, utc_now, sealer),
                     lambda: sorted(p.name for p in root.rglob("*") if p.is_file()),
                     lambda blob_id: _local_path(root, blob_id).read_bytes(),
                     lambda blob_id, data: _write_legacy_file(root, blob_id, data), root)
    server: S3Server = request.getfixturevalue("s3_server")
    prefix = f"uploads/{uuid.uuid4().hex[:12]}/"  # each test its own keys
    return Space(lambda db, sealer: _s3_store(db, server.endpoint, server.credentials, prefix, sealer=sealer),
                 lambda: server.keys(prefix),
                 lambda blob_id: server.client.get_object(Bucket=BUCKET, Key=prefix + blob_id)["Body"].read(),
                 lambda blob_id, data: server.client.put_object(Bucket=BUCKET, Key=prefix + blob_id, Body=data))


@pytest.fixture
async def store(space: Space, db: AsyncEngine) -> AsyncIterator[ContentAddressedBlobStore]:
    built = space.build(db, SEALER)
    yield built
    await built.close()


async def metadata_rows(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(tables.blobs))).scalar_one()


# ── the contract ──────────────────────────────────────────────────────────────────────────────────────────────


async def test_one_owners_same_upload_is_stored_once(store: ContentAddressedBlobStore, space: Space,
                                                     db: AsyncEngine) -> None:
    a = await store.put(b"%PDF-1.4 same", "application/pdf", "u1")
    b = await store.put(b"%PDF-1.4 same", "application/pdf", "u1")
    assert a == b and a.size == len(b"%PDF-1.4 same") and a.mime == "application/pdf"
    assert a.blob_id != hashlib.sha256(b"%PDF-1.4 same").hexdigest()  # the content's hash alone is no address
    assert await store.get(a.blob_id) == b"%PDF-1.4 same"
    assert space.objects() == [a.blob_id]
    assert await metadata_rows(db) == 1


async def test_a_missing_blob_is_none(store: ContentAddressedBlobStore) -> None:
    assert await store.get("0" * 64) is None
    assert await store.get("../../etc/passwd") is None  # not a sha256: never reaches the files or the bucket


async def test_binary_data_round_trips(store: ContentAddressedBlobStore, space: Space) -> None:
    samples = [bytes(range(256)) * 4, os.urandom(300_000), b"\x00\r\n\xff" * 10, b""]
    stored = [await store.put(data, "application/octet-stream", "u1") for data in samples]
    for data, blob in zip(samples, stored):
        assert blob.size == len(data) and await store.get(blob.blob_id) == data
    assert space.objects() == sorted(b.blob_id for b in stored)


async def test_the_same_upload_at_the_same_time_is_stored_once(store: ContentAddressedBlobStore, space: Space,
                                                               db: AsyncEngine) -> None:
    stored = await asyncio.gather(*(store.put(b"%PDF-1.4 twice", "application/pdf", "u1") for _ in range(8)))
    assert len({s.blob_id for s in stored}) == 1
    assert space.objects() == [stored[0].blob_id]
    assert await metadata_rows(db) == 1


async def test_uploads_of_abandoned_drafts_are_purged(store: ContentAddressedBlobStore, space: Space,
                                                      db: AsyncEngine, cipher: FieldCipher,
                                                      direct: DirectPostgres | None) -> None:
    kept = await store.put(b"%PDF-1.4 submitted", "application/pdf", "u1")
    abandoned = await store.put(b"%PDF-1.4 abandoned", "application/pdf", "u1")
    in_profile = await store.put(b"%PDF-1.4 profile", "application/pdf", "u1")
    case = new_case("p")
    case.materials[0].entry = MaterialEntry(kind="upload", blob_id=kept.blob_id)
    await SqlCases(db, cipher, HASH, utc_now).submit(case, "DLH")
    await SqlProfiles(db, cipher, utc_now, direct).save("u1", Profile(materials={"photo": MaterialEntry(
        kind="upload", blob_id=in_profile.blob_id)}))
    assert await store.purge_unclaimed(datetime.now(timezone.utc) - timedelta(days=1)) == 0  # too young
    assert len(space.objects()) == 3
    assert await store.purge_unclaimed(datetime.now(timezone.utc) + timedelta(seconds=1)) == 1
    assert await store.get(abandoned.blob_id) is None
    assert await store.get(kept.blob_id) and await store.get(in_profile.blob_id)
    assert space.objects() == sorted([kept.blob_id, in_profile.blob_id])
    assert await metadata_rows(db) == 2


async def test_purge_goes_through_every_batch(store: ContentAddressedBlobStore, space: Space, db: AsyncEngine,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs_module, "PURGE_BATCH", 2)
    for n in range(5):
        await store.put(f"draft {n}".encode(), "application/pdf", "u1")
    assert await store.purge_unclaimed(datetime.now(timezone.utc) + timedelta(seconds=1)) == 5
    assert space.objects() == [] and await metadata_rows(db) == 0


# ── encryption at rest, private addresses, key rotation ───────────────────────────────────────────────────────

MATERIAL = b"%PDF-1.4 " + "居民户口簿 张三 630802199003070015 德令哈市河西街道长江路1号".encode() * 40


async def test_stored_bytes_are_sealed(store: ContentAddressedBlobStore, space: Space) -> None:
    blob = await store.put(MATERIAL, "application/pdf", "u1")
    raw = space.raw(blob.blob_id)
    assert "630802199003070015".encode() not in raw and b"%PDF" not in raw and MATERIAL[40:72] not in raw
    assert await store.get(blob.blob_id) == MATERIAL


async def test_files_and_folders_are_the_apps_alone(store: ContentAddressedBlobStore, space: Space) -> None:
    if space.root is None:
        pytest.skip("a bucket has no file modes: its objects are sealed like the files (test_stored_bytes_are_sealed)")
    blob = await store.put(MATERIAL, "application/pdf", "u1")
    path = _local_path(space.root, blob.blob_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert {stat.S_IMODE(p.stat().st_mode) for p in (space.root, path.parent, path.parent.parent)} == {0o700}


async def test_two_owners_of_the_same_file_get_different_addresses(store: ContentAddressedBlobStore, space: Space,
                                                                  db: AsyncEngine) -> None:
    mine = await store.put(MATERIAL, "application/pdf", "oWxUserA")
    theirs = await store.put(MATERIAL, "application/pdf", "oWxUserB")
    assert mine.blob_id != theirs.blob_id
    assert await store.get(mine.blob_id) == await store.get(theirs.blob_id) == MATERIAL
    assert space.objects() == sorted([mine.blob_id, theirs.blob_id]) and await metadata_rows(db) == 2


async def key_ids(db: AsyncEngine) -> set[str]:
    async with db.connect() as conn:
        return set((await conn.execute(sa.select(tables.blobs.c.key_id))).scalars())


async def test_rotating_the_field_key_rewraps_data_keys_and_old_blobs_still_read(space: Space,
                                                                                  db: AsyncEngine) -> None:
    key = os.urandom(32)
    old, new = FieldCipher(FIELD_KEY), FieldCipher(key, [FIELD_KEY])
    before = space.build(db, SEALER)
    blobs = [await before.put(MATERIAL + bytes([n]), "application/pdf", "u1") for n in range(3)]
    sealed = {b.blob_id: space.raw(b.blob_id) for b in blobs}
    await before.close()
    during = space.build(db, BlobSealer(new, HASH))
    try:
        assert await during.get(blobs[0].blob_id) == MATERIAL + b"\0"  # old keys still open until rotated
        assert await during.reseal() == {"blob_keys_rewrapped": 3, "blobs_sealed": 0}
        assert await during.reseal() == {"blob_keys_rewrapped": 0, "blobs_sealed": 0}
        added = await during.put(MATERIAL, "application/pdf", "u2")
    finally:
        await during.close()
    assert await key_ids(db) == {new.current_key_id} != {old.current_key_id}
    assert {b.blob_id: space.raw(b.blob_id) for b in blobs} == sealed  # only the rows were rewritten
    after = space.build(db, BlobSealer(FieldCipher(key), HASH))  # the retired key is gone
    try:
        for n, blob in enumerate(blobs):
            assert await after.get(blob.blob_id) == MATERIAL + bytes([n])
        assert await after.get(added.blob_id) == MATERIAL
    finally:
        await after.close()


async def test_blobs_stored_in_clear_still_read_and_rotation_seals_them(store: ContentAddressedBlobStore,
                                                                        space: Space, db: AsyncEngine) -> None:
    legacy = b"\x89PNG\r\n\x1a\n stored before encryption " * 20
    blob_id = hashlib.sha256(legacy).hexdigest()  # as the store addressed it then
    space.write_raw(blob_id, legacy)
    async with db.begin() as conn:
        await conn.execute(tables.blobs.insert().values(blob_id=blob_id, mime="image/png", size=len(legacy),
                                                        created_at=utc_now(), claimed=True))
    assert await store.get(blob_id) == legacy
    assert await store.reseal() == {"blob_keys_rewrapped": 0, "blobs_sealed": 1}
    assert legacy[:40] not in space.raw(blob_id)
    assert await store.get(blob_id) == legacy
    assert await store.reseal() == {"blob_keys_rewrapped": 0, "blobs_sealed": 0}
    if space.root is not None:
        assert stat.S_IMODE(_local_path(space.root, blob_id).stat().st_mode) == 0o600


# ── S3 only: failures are BlobStoreUnavailable, never a wrong answer ─────────────────────────────────────────────


async def unclaimed_rows_only(db: AsyncEngine) -> bool:
    """What a failed put leaves: at most rows no case or profile claims (the draft purge removes them)."""
    async with db.connect() as conn:
        claimed = await conn.execute(sa.select(sa.func.count()).select_from(tables.blobs)
                                     .where(tables.blobs.c.claimed.is_(True)))
    return claimed.scalar_one() == 0


async def test_an_unreachable_s3_raises_and_leaves_nothing_a_case_uses(db: AsyncEngine, s3_server: S3Server) -> None:
    store = _s3_store(db, f"http://127.0.0.1:{free_port()}", s3_server.credentials)  # nothing listens there
    try:
        with pytest.raises(BlobStoreUnavailable, match="S3 PUT"):
            await store.put(b"%PDF-1.4 lost", "application/pdf", "u1")
        with pytest.raises(BlobStoreUnavailable, match="S3 GET"):
            await store.get("0" * 64)
    finally:
        await store.close()
    assert await unclaimed_rows_only(db)


async def test_wrong_keys_and_a_missing_bucket_raise(db: AsyncEngine, s3_server: S3Server) -> None:
    forged = Credentials(s3_server.credentials.access_key, "not-the-secret")
    for store, code in [(_s3_store(db, s3_server.endpoint, forged), "SignatureDoesNotMatch"),
                        (_s3_store(db, s3_server.endpoint, s3_server.credentials, bucket="no-such-bucket"),
                         "NoSuchBucket")]:
        try:
            with pytest.raises(BlobStoreUnavailable, match=code):
                await store.get("0" * 64)  # a missing bucket is an error, not a missing blob
            with pytest.raises(BlobStoreUnavailable, match=code):
                await store.put(b"%PDF-1.4 refused", "application/pdf", "u1")
        finally:
            await store.close()
    assert await unclaimed_rows_only(db)


@pytest.fixture
async def failing_s3(aiohttp_server: Callable[..., Any]) -> str:
    """An endpoint answering every request as an overloaded S3 does."""

    async def slow_down(request: web.Request) -> web.Response:
        return web.Response(status=503, content_type="application/xml",
                            text="<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", slow_down)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_5xx_raises_and_a_failed_purge_keeps_its_rows(db: AsyncEngine, s3_server: S3Server,
                                                              failing_s3: str) -> None:
    prefix = f"uploads/{uuid.uuid4().hex[:12]}/"
    working = _s3_store(db, s3_server.endpoint, s3_server.credentials, prefix)
    overloaded = _s3_store(db, failing_s3, s3_server.credentials, prefix)
    try:
        blob = await working.put(b"%PDF-1.4 abandoned", "application/pdf", "u1")
        with pytest.raises(BlobStoreUnavailable, match="HTTP 503 SlowDown"):
            await overloaded.get(blob.blob_id)
        later = datetime.now(timezone.utc) + timedelta(seconds=1)
        with pytest.raises(BlobStoreUnavailable, match="S3 DELETE"):
            await overloaded.purge_unclaimed(later)
        assert await metadata_rows(db) == 1  # the next purge tries again
        assert await working.purge_unclaimed(later) == 1
        assert s3_server.keys(prefix) == [] and await metadata_rows(db) == 0
    finally:
        await working.close()
        await overloaded.close()


def test_object_urls_are_path_style_or_virtual_hosted() -> None:
    assert str(S3Location("http://127.0.0.1:9000", "b", prefix="up/").url("up/ab")) == "http://127.0.0.1:9000/b/up/ab"
    assert str(S3Location("https://s3.example.com/base/", "b").url("a b+c")) == (
        "https://s3.example.com/base/b/a%20b%2Bc")
    assert str(S3Location("https://oss-cn-hangzhou.aliyuncs.com", "zwb", addressing="virtual").url("ab")) == (
        "https://zwb.oss-cn-hangzhou.aliyuncs.com/ab")


# ── SigV4 against AWS's published examples (S3 API reference, "Signature Calculations for the Authorization
#    Header: Transferring Payload in a Single Chunk"), independent of moto ───────────────────────────────────

AWS_EXAMPLE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
AWS_EXAMPLE_TIME = datetime(2013, 5, 24, tzinfo=timezone.utc)
AWS_EXAMPLE_HOST = "https://examplebucket.s3.amazonaws.com"


def _signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rsplit("Signature=", 1)[1]


def test_sigv4_get_object_example() -> None:
    headers = sign("GET", URL(f"{AWS_EXAMPLE_HOST}/test.txt", encoded=True), {"Range": "bytes=0-9"}, EMPTY_SHA256,
                   AWS_EXAMPLE, "us-east-1", AWS_EXAMPLE_TIME)
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert headers["x-amz-date"] == "20130524T000000Z" and headers["Host"] == "examplebucket.s3.amazonaws.com"


def test_sigv4_put_object_example() -> None:
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    assert payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    headers = sign("PUT", URL(f"{AWS_EXAMPLE_HOST}/test%24file.text", encoded=True),
                   {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
                   payload, AWS_EXAMPLE, "us-east-1", AWS_EXAMPLE_TIME)
    assert "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class," in headers["Authorization"]
    assert _signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"


@pytest.mark.parametrize(("query", "signature"), [
    ("?lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    ("?max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
])
def test_sigv4_query_examples(query: str, signature: str) -> None:
    headers = sign("GET", URL(f"{AWS_EXAMPLE_HOST}/{query}", encoded=True), {}, EMPTY_SHA256, AWS_EXAMPLE,
                   "us-east-1", AWS_EXAMPLE_TIME)
    assert _signature(headers) == signature
