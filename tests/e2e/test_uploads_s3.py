"""Uploads sent in the chat land, encrypted, in an S3-compatible bucket when the settings choose one (moto,
checking signatures); while the bucket cannot be reached the citizen is asked to send again and nothing is lost."""
from __future__ import annotations

import hashlib
import uuid

from aiohttp import FormData

from app import build_app
from bot.config import Settings
from tests.chat import PNG, Chat
from tests.e2e.casework import fill_renewal_fields, start_renewal
from tests.s3 import BUCKET, S3Server
from tests.servers import free_port


def _s3_settings(settings: Settings, endpoint: str, s3_server: S3Server, prefix: str) -> Settings:
    return Settings.load(None, **{**settings.model_dump(exclude={"blob_s3", "blob_store"}), "blob_store": "s3",
                                  "blob_s3": {"endpoint": endpoint, "bucket": BUCKET, "prefix": prefix,
                                              "access_key": s3_server.credentials.access_key,
                                              "secret_key": s3_server.credentials.secret_key}})


async def _at_the_old_card_step(chat: Chat) -> None:
    await start_renewal(chat)
    await fill_renewal_fields(chat)
    await chat.tap("电子证照")
    assert chat.last()["type"] == "material_step" and chat.last()["key"] == "old_id_card"


async def test_an_upload_is_stored_in_the_bucket(aiohttp_client, settings, content, clock, s3_server) -> None:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}/"
    client = await aiohttp_client(build_app(_s3_settings(settings, s3_server.endpoint, s3_server, prefix),
                                            content, clock))
    chat = Chat(client, "s3-citizen")
    await _at_the_old_card_step(chat)
    await chat.upload(PNG, "old-card.png")
    assert chat.last()["key"] == "id_photo"  # the next material: the card was taken
    [key] = s3_server.keys(prefix)
    assert key != hashlib.sha256(PNG).hexdigest()  # addressed by owner and content, not the bare hash
    stored = s3_server.client.get_object(Bucket=BUCKET, Key=prefix + key)["Body"].read()
    assert PNG[:16] not in stored and stored.startswith(b"ZWB1")  # sealed on our side before it left


async def test_an_unreachable_bucket_asks_to_send_again_and_keeps_the_answers(aiohttp_client, settings, content,
                                                                              clock, s3_server) -> None:
    down = _s3_settings(settings, f"http://127.0.0.1:{free_port()}", s3_server, "never/")
    client = await aiohttp_client(build_app(down, content, clock))
    chat = Chat(client, "s3-down")
    await _at_the_old_card_step(chat)
    form = FormData()
    form.add_field("user", chat.user)
    form.add_field("file", PNG, filename="old-card.png")
    response = await client.post("/api/v1/chat/messages", data=form)
    assert response.status == 503 and response.headers["Retry-After"]
    assert "稍后再发" in (await response.json())["detail"]
    await chat.say("/hello")  # coming back: the same step, the answers before it kept
    assert chat.last()["type"] == "material_step" and chat.last()["key"] == "old_id_card"
    assert chat.last()["progress"]["current"] > 1
