"""The embedded mode (`python app.py`, no Redis) keeps a citizen's draft across a crash of the process."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.apps import AppProcess
from tests.e2e.test_instances import VALID_ID, Citizen, fresh_connections, last

pytestmark = pytest.mark.slow


async def test_a_draft_continues_after_the_process_is_killed_and_started_again(tmp_path: Path) -> None:
    app = AppProcess(tmp_path).start()
    try:
        async with fresh_connections() as http:
            citizen = Citizen(http, "restart-user")
            for text in ["身份证过期了咋办", "/apply", "张三"]:
                status, body = await citizen.say(app, text)
                assert status == 200, body
            asked = last(body)
            assert asked["type"] == "form_step" and asked["key"] == "id_number", body
            app.kill()  # SIGKILL: nothing is flushed on the way out
            app = AppProcess(tmp_path).start()
            status, body = await citizen.say(app, VALID_ID)
            assert status == 200, body
            following = last(body)
            assert following["type"] == "form_step" and following["key"] == "phone", body  # the same draft
            assert following["progress"]["current"] == asked["progress"]["current"] + 1
    finally:
        app.stop()
