"""`make fuzz`: schemathesis over every route the running app documents, with a citizen and a staff token.

Starts the app (SQLite, sandbox payments, WeChat on the local simulator so its routes are enabled) and the WeChat
simulator on free ports, mints a citizen session token and a clerk's staff token, seeds one accepted case with
its fee order (half of the generated case and order numbers are those), then runs schemathesis twice:
every route with the citizen token, and the staff routes with the staff token (examples, coverage, fuzzing and
stateful phases, bounded by --max-examples and --max-time). Prints requests and failures by check; exits 1 when
any response was a server error.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.accounts import SessionTokens, WeChatIdentity
from bot.clock import utc_now
from sim.wechat import DEFAULT_AES_KEY
from tests.apps import REPO, TEST_FIELD_KEY, TEST_SEARCH_KEY, AppProcess
from tests.e2e.casework import VALID_ID
from tests.servers import _wait_port, free_port

SESSION_KEY = os.urandom(32)
SIM = {"appid": "wx5f0c1e2d3b4a6978", "secret": "sim-app-secret", "token": "sim-push-token"}


def staff_token(env: dict[str, str]) -> str:
    """A township clerk of 公安局, created with `python -m bot add-staff` on the app's database."""
    result = subprocess.run([sys.executable, "-m", "bot", "add-staff", "--name", "模糊测试", "--role", "clerk",
                             "--department", "德令哈市公安局", "--level", "township"], cwd=REPO, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout.split("token (shown once): ")[1].strip()


def _call(url: str, token: str, body: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def seed(url: str, citizen: str, staff: str) -> tuple[str, str]:
    """A renewal submitted by the citizen and accepted by the clerk, with its fee order: ids that exist, so the
    routes behind `{number}` and `{out_trade_no}` are reached, not only their 404."""
    replies: list[dict[str, Any]] = []
    for text in ["身份证过期了咋办", "/apply", "张三", VALID_ID, "13800138000", "有效期满", "邮寄到家",
                 "德令哈市河西街道长江路1号", "/licence", "/defer", "/skip", "/submit"]:
        replies = _call(f"{url}/api/v1/chat/messages", citizen, {"text": text})["replies"]
    number = str(re.search(r"DLH\d{14}", json.dumps(replies, ensure_ascii=False)).group(0))  # type: ignore[union-attr]
    for to in ("pre_reviewed", "accepted"):
        _call(f"{url}/api/v1/staff/cases/{number}/transitions", staff, {"to": to})
    payment = _call(f"{url}/api/v1/chat/messages", citizen, {"text": "缴费"})["replies"]
    return number, next(r["out_trade_no"] for r in payment if r["type"] == "payment")


def config_file(folder: Path, number: str, order: str) -> Path:
    """schemathesis.toml: half of the generated case numbers and order numbers are the seeded ones."""
    path = folder / "schemathesis.toml"
    path.write_text(f"""[dictionaries.cases]
values = ["{number}"]
[dictionaries.orders]
values = ["{order}"]
[parameters]
"path.number" = {{ dictionary = "cases", probability = 0.5 }}
"path.out_trade_no" = {{ dictionary = "orders", probability = 0.5 }}
""", encoding="utf-8")
    return path


def schemathesis(url: str, token: str, label: str, report: Path, args: argparse.Namespace,
                 *extra: str) -> Counter[str]:
    """One schemathesis run; returns the number of requests and of failures per check from its NDJSON events."""
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file",
               str(report.parent / "schemathesis.toml"), "run", f"{url}/api/v1/openapi.json",
               "--header", f"Authorization: Bearer {token}", "--checks", "all", "--max-examples", str(args.examples),
               "--max-time", str(args.max_time), "--seed", str(args.seed), "--no-shrink",
               "--suppress-health-check", "all", "--report", "ndjson", "--report-ndjson-path", str(report),
               "--output-truncate", "true", *extra]
    print(f"== {label}: {' '.join(command[3:5])} …", flush=True)
    subprocess.run(command, cwd=report.parent)  # its replay cache (.schemathesis/) stays out of the repository
    return tally(report)


def tally(report: Path) -> Counter[str]:
    """Requests sent, responses by status class, and failing test cases per check, from an NDJSON report."""
    counts: Counter[str] = Counter()
    for line in report.read_text(encoding="utf-8").splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        for interaction in recorder.get("interactions", {}).values():
            counts["requests"] += 1
            response = interaction.get("response")
            counts[f"status:{response['status_code'] // 100}xx" if response else "status:no answer"] += 1
        for checks in recorder.get("checks", {}).values():
            for name in {check["name"] for check in checks if check["status"] == "failure"}:
                counts[f"failure:{name}"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
    parser.add_argument("--examples", type=int, default=30, help="schemathesis --max-examples per operation")
    parser.add_argument("--max-time", type=int, default=90, help="seconds per run (two runs)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zwb-fuzz-"))
    sim_port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "sim.wechat", "--port", str(sim_port)], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = {"wechat_appid": SIM["appid"], "wechat_secret": SIM["secret"], "wechat_token": SIM["token"],
                "wechat_aes_key": DEFAULT_AES_KEY, "wechat_api_base": f"http://127.0.0.1:{sim_port}",
                "session_token_key": base64.b64encode(SESSION_KEY).decode(), "log_level": "ERROR",
                "rate_limit__messages": "1000000"}  # reach the handlers (429 has tests of its own)
    app = AppProcess(work, **settings)
    try:
        _wait_port(sim_port)
        app.start()
        env = {**os.environ, "ZWB_DATABASE_URL": f"sqlite+aiosqlite:///{work}/app.db", "ZWB_FIELD_KEY": TEST_FIELD_KEY,
               "ZWB_SEARCH_KEY": TEST_SEARCH_KEY}
        citizen, _ = SessionTokens(SESSION_KEY, timedelta(hours=2), utc_now).issue(WeChatIdentity("o-fuzz-citizen"))
        staff = staff_token(env)
        number, order = seed(app.url, citizen, staff)
        config_file(work, number, order)
        print(f"== seeded case {number} with its fee order {order}", flush=True)
        started = time.monotonic()
        # Logout would revoke the citizen token for the rest of the run: it is left to the staff-token run (401).
        totals = schemathesis(app.url, citizen, "citizen token, every route", work / "citizen.ndjson", args,
                              "--exclude-path", "/api/v1/auth/logout")
        totals += schemathesis(app.url, staff, "staff token, staff routes", work / "staff.ndjson", args,
                               "--include-path-regex", "^/api/v1/(staff|auth/logout)")
    finally:
        app.stop()
        sim.terminate()
        sim.wait(timeout=10)
    print(f"== {totals['requests']} requests in {time.monotonic() - started:.0f} s; responses, and test cases failing each check:")
    for name, count in sorted(totals.items()):
        if name != "requests":
            print(f"   {name}: {count}")
    print(f"   (app log: {app.log_path})")
    return 1 if totals["failure:not_a_server_error"] or totals["status:5xx"] else 0


if __name__ == "__main__":
    sys.exit(main())
