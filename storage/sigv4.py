"""AWS Signature Version 4 for S3 requests (header-based, signed payload), with hashlib and hmac only.

S3 signs the path as sent (no second URI-encoding, unlike other AWS services): callers pass a URL whose path
is already encoded (yarl `encoded=True`) and send exactly that URL with the returned headers.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

from yarl import URL

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """The key derived for one day, region and service (AWS4 + secret -> date -> region -> service -> request)."""
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_query(url: URL) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in url.query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_value(value: str) -> str:
    return " ".join(value.split())  # trimmed, inner runs of spaces collapsed


def sign(method: str, url: URL, headers: Mapping[str, str], payload_sha256: str, credentials: Credentials,
         region: str, now: datetime, service: str = "s3") -> dict[str, str]:
    """The request's headers to send: `headers` plus Host, x-amz-date, x-amz-content-sha256 and Authorization.
    Every header given is signed; `payload_sha256` is the hex SHA-256 of the body (S3 checks it on upload)."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    all_headers = {"Host": url.host_port_subcomponent or "", **headers, "x-amz-date": stamp,
                   "x-amz-content-sha256": payload_sha256}
    canonical = {name.lower(): _canonical_value(value) for name, value in all_headers.items()}
    signed_names = ";".join(sorted(canonical))
    canonical_request = "\n".join([
        method.upper(), url.raw_path or "/", _canonical_query(url),
        "".join(f"{name}:{canonical[name]}\n" for name in sorted(canonical)), signed_names, payload_sha256])
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    signature = hmac.new(signing_key(credentials.secret_key, stamp[:8], region, service), string_to_sign.encode(),
                         hashlib.sha256).hexdigest()
    authorization = (f"{ALGORITHM} Credential={credentials.access_key}/{scope},SignedHeaders={signed_names},"
                     f"Signature={signature}")
    return {**all_headers, "Authorization": authorization}
