"""A real S3-compatible server for the tests: moto's server in a subprocess on a free port, with one bucket,
checking every request's credentials and SigV4 signature (it does not by default)."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import pytest

from storage.sigv4 import Credentials
from tests.servers import free_port

BUCKET = "zwb-test-blobs"
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@dataclass(frozen=True)
class S3Server:
    """A moto server with one bucket; `credentials` are an IAM user's key, and moto verifies every signature."""

    endpoint: str
    credentials: Credentials
    client: Any  # boto3's S3 client: an independent look at the bucket

    def keys(self, prefix: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"][len(prefix):] for item in listed)


def _moto_ready(endpoint: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"exited with {process.returncode}: {log.read().decode(errors='replace')[-500:]}")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"moto.server did not answer within {timeout} s")


def _require_signatures(endpoint: str) -> None:
    """From now on moto checks each request's credentials and SigV4 signature (it does not by default)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=5).read()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server in a subprocess on a free port, for the session; skips with the reason if unavailable."""
    try:
        import boto3
        importlib.import_module("moto.server")
    except ImportError as exc:
        pytest.skip(f"S3 blob store tests need moto[server] (pip install -r requirements-dev.txt): {exc}")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # not a pipe: moto logs every request, and a full pipe would stall it
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            _moto_ready(endpoint, process, log)
        except RuntimeError as exc:
            pytest.skip(f"S3 blob store tests: moto.server could not start: {exc}")
        anyone = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "setup",
                  "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", **anyone)
        iam.create_user(UserName="zhengwu")
        iam.put_user_policy(UserName="zhengwu", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        key = iam.create_access_key(UserName="zhengwu")["AccessKey"]
        s3 = boto3.client("s3", **{**anyone, "aws_access_key_id": key["AccessKeyId"],
                                   "aws_secret_access_key": key["SecretAccessKey"]})
        s3.create_bucket(Bucket=BUCKET)
        _require_signatures(endpoint)
        yield S3Server(endpoint, Credentials(key["AccessKeyId"], key["SecretAccessKey"]), s3)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
