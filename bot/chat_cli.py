"""Terminal chat client: talks to a running server over the same HTTP API as the mini-program."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bot.dialogue.commands import Command, Invocation


def render(reply: dict[str, Any], options: list[str]) -> list[str]:
    """Text lines for one reply; tappable values are appended to `options` and shown numbered."""
    lines: list[str] = []
    kind = reply["type"]
    if kind == "card":
        lines.append(f"【{reply['title']}】")
        lines += [f"  {f['label']}：{f['value']}" for f in reply.get("fields", [])]
    else:
        text = reply.get("text", "")
        if "progress" in reply:
            text = f"（{reply['progress']['current']}/{reply['progress']['total']}）{text}"
        lines.append(text)
        if reply.get("hint"):
            lines.append(f"  提示：{reply['hint']}")
        if reply.get("current_value"):
            lines.append(f"  当前：{reply['current_value']}")
        if kind == "material_step":
            lines.append("  上传文件请输入：/upload 文件路径")
    for option in reply.get("options", []) + reply.get("actions", []):
        options.append(option["value"])
        lines.append(f"  [{len(options)}] {option['label']}")
    return lines


async def _send(session: aiohttp.ClientSession, url: str, user: str, line: str) -> dict[str, Any]:
    if line.startswith("/upload "):
        path = Path(line.removeprefix("/upload ").strip()).expanduser()
        form = aiohttp.FormData()
        form.add_field("user", user)
        form.add_field("file", path.read_bytes(), filename=path.name)
        async with session.post(url, data=form) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
            return answer
    async with session.post(url, json={"user": user, "text": line}) as response:
        answer = await response.json(content_type=None)
        return answer


async def chat(base_url: str, user: str) -> None:
    url = base_url.rstrip("/") + "/api/v1/chat/messages"
    options: list[str] = []
    async with aiohttp.ClientSession() as session:
        line = Invocation(Command.hello).value
        while True:
            try:
                body = await _send(session, url, user, line)
            except (aiohttp.ClientError, OSError) as exc:
                print(f"连接服务失败：{exc}")
                return
            options = []
            replies = body.get("replies") or [{"type": "text", "text": body.get("detail", "出错了")}]
            for reply in replies:
                print("\n".join("机器人：" + ln if i == 0 else ln for i, ln in enumerate(render(reply, options))))
            try:
                line = (await asyncio.to_thread(input, "我：")).strip()
            except EOFError:
                return
            while not line:
                line = (await asyncio.to_thread(input, "我：")).strip()
            if line.isdigit() and 1 <= int(line) <= len(options):
                line = options[int(line) - 1]


def main(argv: list[str]) -> int:
    from bootstrap import load_settings

    settings = load_settings()  # the repository's config.yaml and ZWB_*: where `python app.py` listens
    parser = argparse.ArgumentParser(prog="python -m bot chat", description="Chat with a running zhengwu-bot")
    parser.add_argument("--url", default=f"http://{settings.host}:{settings.port}")
    parser.add_argument("--user", default="terminal-user")
    args = parser.parse_args(argv)
    try:
        asyncio.run(chat(args.url, args.user))
    except KeyboardInterrupt:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
