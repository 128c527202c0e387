"""S3-compatible blob store over aiohttp with hand-written SigV4 (MinIO, Ceph RGW, Aliyun OSS, Tencent COS, AWS).

Objects are keyed `<prefix><blob id>` and hold the sealed bytes (client-side envelope encryption, as for the local
store: the bucket's operator never sees a material); metadata and wrapped data keys live in SQL. Every S3 failure
(network, timeout, 5xx, refused credentials, missing bucket) raises BlobStoreUnavailable; only a missing
object is an answer (get returns None, delete treats it as done).
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import quote

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

from bot.ports import BlobStoreUnavailable
from storage.blob_sealing import BlobSealer
from storage.blobs import ContentAddressedBlobStore
from storage.sigv4 import EMPTY_SHA256, Credentials, sign

_ERROR_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
# S3 asks clients to retry 500 InternalError and 503 SlowDown; every request here is idempotent (content-addressed
# PUT, GET, DELETE), so a server error is tried again twice, after these pauses, before it counts as an outage.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_PAUSES_S = (0.05, 0.25)


@dataclass(frozen=True)
class S3Location:
    """Where the objects are. `path` addressing is endpoint/bucket/key (MinIO, Ceph); `virtual` is
    bucket.endpoint/key (Aliyun OSS, Tencent COS buckets created since 2024, AWS)."""

    endpoint: str  # e.g. http://127.0.0.1:9000 or https://oss-cn-hangzhou-internal.aliyuncs.com
    bucket: str
    region: str = "us-east-1"
    prefix: str = ""
    addressing: Literal["path", "virtual"] = "path"

    def url(self, key: str) -> URL:
        """The object's URL, its path already encoded (the form SigV4 signs and aiohttp sends as is)."""
        base = URL(self.endpoint)
        path = base.raw_path.rstrip("/")
        if self.addressing == "path":
            path += "/" + quote(self.bucket, safe="")
        else:
            base = base.with_host(f"{self.bucket}.{base.raw_host}")
        return base.with_path(f"{path}/{quote(key, safe='/')}", encoded=True).with_query(None)


class S3BlobStore(ContentAddressedBlobStore):
    """BlobStore on an S3-compatible bucket. It owns `session` (close() closes it); give it a timeout.

    A put is a single PUT with no HEAD before it: the key is derived from the content, so repeating it rewrites
    the same content under the same data key (idempotent), costs one round trip instead of two, and needs no
    ListBucket permission (without it S3 answers a HEAD of a missing key with 403, not 404).
    x-amz-content-sha256 is the sealed body's hash, so the server refuses a body damaged on the way."""

    def __init__(self, engine: AsyncEngine, location: S3Location, credentials: Credentials,
                 session: aiohttp.ClientSession, clock: Callable[[], datetime], sealer: BlobSealer) -> None:
        super().__init__(engine, clock, sealer)
        self._location, self._credentials, self._session = location, credentials, session

    async def close(self) -> None:
        await self._session.close()

    async def _write(self, blob_id: str, data: bytes, mime: str, replace: bool = False) -> None:
        status, body = await self._send("PUT", blob_id, data, {"Content-Type": "application/octet-stream"},
                                        payload_sha256=hashlib.sha256(data).hexdigest())
        if status != 200:
            raise self._failure("PUT", blob_id, status, body)

    async def _read(self, blob_id: str) -> bytes | None:
        status, body = await self._send("GET", blob_id)
        if status == 200:
            return body
        if status == 404 and _error_code(body) in ("NoSuchKey", ""):
            return None
        raise self._failure("GET", blob_id, status, body)

    async def _delete(self, blob_id: str) -> None:
        status, body = await self._send("DELETE", blob_id)
        if status not in (200, 204) and not (status == 404 and _error_code(body) in ("NoSuchKey", "")):
            raise self._failure("DELETE", blob_id, status, body)

    async def _send(self, method: str, blob_id: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                    payload_sha256: str = EMPTY_SHA256) -> tuple[int, bytes]:
        url = self._location.url(self._location.prefix + blob_id)
        for pause in (*RETRY_PAUSES_S, None):
            # SigV4's x-amz-date is checked against the server's own clock (15 min), so it is the real time, not
            # the injected clock that dates what we record.
            signed = sign(method, url, headers or {}, payload_sha256, self._credentials, self._location.region,
                          datetime.now(timezone.utc))
            try:
                async with self._session.request(method, url, data=data, headers=signed) as response:
                    status, body = response.status, await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise BlobStoreUnavailable(f"S3 {method} {self._where(blob_id)}: {exc!r}") from exc
            if status not in RETRY_STATUSES or pause is None:
                return status, body
            await asyncio.sleep(pause)
        raise AssertionError("unreachable: the last pause is None")

    def _failure(self, method: str, blob_id: str, status: int, body: bytes) -> BlobStoreUnavailable:
        code = _error_code(body) or "no error code"
        return BlobStoreUnavailable(f"S3 {method} {self._where(blob_id)}: HTTP {status} {code}")

    def _where(self, blob_id: str) -> str:
        return f"{self._location.bucket}/{self._location.prefix}{blob_id}"


def _error_code(body: bytes) -> str:
    """The <Code> of an S3 error document (NoSuchKey, NoSuchBucket, SignatureDoesNotMatch, ...), or ""."""
    match = _ERROR_CODE.search(body)
    return match.group(1).decode(errors="replace") if match else ""
