"""Drive the chat API as the mini-program would; the repository root and a tiny PNG to upload."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

ROOT = Path(__file__).resolve().parent.parent
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


class Chat:
    """Drives the chat API as the mini-program would, for one user."""

    def __init__(self, client: TestClient, user: str) -> None:
        self.client, self.user = client, user
        self.replies: list[dict[str, Any]] = []

    async def say(self, text: str) -> list[dict[str, Any]]:
        response = await self.client.post("/api/v1/chat/messages", json={"user": self.user, "text": text})
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies

    async def upload(self, data: bytes, filename: str = "photo.png") -> list[dict[str, Any]]:
        form = FormData()
        form.add_field("user", self.user)
        form.add_field("file", data, filename=filename)
        response = await self.client.post("/api/v1/chat/messages", data=form)
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies

    def text(self) -> str:
        """Everything the user sees in the last replies, as one string."""
        parts: list[str] = []
        for r in self.replies:
            parts += [r.get("text", ""), r.get("title", "")]
            parts += [f"{f['label']}：{f['value']}" for f in r.get("fields", [])]
            parts += [o["label"] for o in r.get("options", []) + r.get("actions", [])]
        return "\n".join(parts)

    def last(self) -> dict[str, Any]:
        return self.replies[-1]

    def option(self, label_part: str) -> str:
        """The value of the option or action whose label contains label_part."""
        for r in self.replies:
            for o in r.get("options", []) + r.get("actions", []):
                if label_part in o["label"]:
                    return o["value"]
        raise AssertionError(f"no option with {label_part!r} in {self.text()}")

    async def tap(self, label_part: str) -> list[dict[str, Any]]:
        return await self.say(self.option(label_part))
