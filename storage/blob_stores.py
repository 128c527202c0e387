"""Builds the blob store the settings choose: the local folder (embedded default) or an S3-compatible bucket."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.ports import BlobStore
from storage.blob_sealing import BlobSealer
from storage.blobs import LocalBlobStore
from storage.s3_blobs import S3BlobStore, S3Location
from storage.sigv4 import Credentials


def build_blob_store(settings: Settings, db: AsyncEngine, clock: Callable[[], datetime],
                     sealer: BlobSealer) -> BlobStore:
    """Uploads in blob_dir (embedded default) or in an S3-compatible bucket, with an HTTP client of its own;
    sealed (encrypted) in either."""
    if settings.blob_store == "local":
        return LocalBlobStore(settings.blob_dir, db, clock, sealer)
    s3 = settings.blob_s3
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=s3.timeout_seconds, sock_connect=5))
    return S3BlobStore(db, S3Location(s3.endpoint, s3.bucket, s3.region, s3.prefix, s3.addressing),
                       Credentials(s3.access_key, s3.secret_key.get_secret_value()), http, clock, sealer)
