"""Baseline for bench_chat.py: a bare aiohttp handler that parses the same JSON (or multipart) body and answers one
reply."""
from __future__ import annotations

import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    if request.content_type.startswith("multipart/"):  # the mixed workload's upload: read the parts
        text = str((await request.post()).get("user"))
    else:
        text = (await request.json())["text"]
    return web.json_response({"replies": [{"type": "text", "text": f"收到：{text}"}]})


def main() -> None:
    app = web.Application()
    app.router.add_post("/api/v1/chat/messages", handle)
    app.router.add_get("/healthz", lambda request: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
