"""What the staff console needs of the API: who is signed in, the page itself, uploaded materials to look at,
personal data masked until a reason is given (audited), the moves the role may make, and a per-staff limit."""
from __future__ import annotations

from app import build_app
from tests.chat import PNG
from tests.e2e.casework import VALID_ID, auth, submitted_renewal
from tests.e2e.conftest import staff_tokens
from tests.e2e.test_audit import audit_rows


async def test_me_names_the_signed_in_staff_member(client, tokens) -> None:
    me = await client.get("/api/v1/staff/me", headers=auth(tokens["approver"]))
    assert await me.json() == {"id": 2, "name": "approver", "role": "approver", "department": "德令哈市公安局",
                               "level": "township"}
    assert (await client.get("/api/v1/staff/me")).status == 401
    assert (await client.get("/api/v1/staff/me", headers=auth("not-a-token"))).status == 401


async def test_the_console_page_is_served_with_a_strict_policy(client) -> None:
    page = await client.get("/staff/")
    assert page.status == 200 and "政务服务工作台" in await page.text()
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["Referrer-Policy"] == "no-referrer" and "Set-Cookie" not in page.headers
    moved = await client.get("/staff", allow_redirects=False)
    assert moved.status == 308 and moved.headers["Location"] == "/staff/"
    script = await client.get("/staff/console.js")
    assert script.status == 200 and "sessionStorage" in await (await client.get("/staff/api.js")).text()
    assert (await client.get("/staff/vendor/chart.umd.min.js")).status == 200


async def test_every_page_and_static_file_carries_the_security_headers(client) -> None:
    # The console's page is also a plain file of the static folder, and so are the H5 and studio pages.
    for path in ["/staff/", "/staff/index.html", "/static/staff/index.html", "/staff/console.js", "/",
                 "/static/index.html", "/studio/", "/static/studio.html", "/static/chat.js", "/healthz"]:
        response = await client.get(path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


async def test_a_photo_larger_than_one_read_is_stored_whole(client, chat_factory, tokens) -> None:
    # Read through a temporary file; a small one (the test below) stays in memory. Both must arrive unchanged.
    photo = PNG + bytes(range(256)) * 600  # 153 KB: three reads of the upload
    number = await submitted_renewal(chat_factory("c-big"), photo=photo)
    path = f"/api/v1/staff/cases/{number}"
    [key] = (await (await client.get(path, headers=auth(tokens["clerk"]))).json())["uploads"]
    file = await client.get(f"{path}/materials/{key}/file", headers=auth(tokens["approver"]))
    assert file.status == 200 and await file.read() == photo


async def test_materials_and_personal_data_for_the_console(client, chat_factory, tokens, settings) -> None:
    number = await submitted_renewal(chat_factory("c1"))
    path = f"/api/v1/staff/cases/{number}"
    masked = await (await client.get(f"{path}?masked=true", headers=auth(tokens["clerk"]))).json()
    assert masked["fields"]["id_number"] != VALID_ID and masked["field_labels"]["id_number"] == "身份证号"
    assert masked["moves"] == ["returned", "pre_reviewed"] and masked["uploads"]
    key = masked["uploads"][0]

    unreasoned = await client.post(f"{path}/reveal", json={"reason": ""}, headers=auth(tokens["clerk"]))
    assert unreasoned.status == 422
    revealed = await client.post(f"{path}/reveal", json={"reason": "核对身份证号与原件"}, headers=auth(tokens["clerk"]))
    assert (await revealed.json())["fields"]["id_number"] == VALID_ID
    assert (await client.post(f"{path}/reveal", json={"reason": "看看"}, headers=auth(tokens["supervisor"]))).status == 403
    assert (await client.post(f"{path}/reveal", json={"reason": "看看"}, headers=auth(tokens["other_clerk"]))).status == 404

    file = await client.get(f"{path}/materials/{key}/file", headers=auth(tokens["approver"]))
    assert file.status == 200 and await file.read() == PNG and file.content_type == "image/png"
    assert file.headers["Cache-Control"] == "no-store" and "sandbox" in file.headers["Content-Security-Policy"]
    assert (await client.get(f"{path}/materials/{key}/file", headers=auth(tokens["other_clerk"]))).status == 404
    assert (await client.get(f"{path}/materials/{key}/file")).status == 401
    not_uploaded = next(m["key"] for m in masked["materials"] if m["key"] not in masked["uploads"])
    assert (await client.get(f"{path}/materials/{not_uploaded}/file", headers=auth(tokens["clerk"]))).status == 404

    supervisor = await (await client.get(path, headers=auth(tokens["supervisor"]))).json()
    assert supervisor["moves"] == []
    rows = [r for r in await audit_rows(settings) if r["case_number"] == number]
    assert [(r["action"], r["detail"].get("full_personal_data")) for r in rows if r["action"] == "view"][0] == \
        ("view", False)
    assert any(r["action"] == "reveal" and r["detail"]["reason"] == "核对身份证号与原件" for r in rows)
    assert any(r["action"] == "material_view" and r["detail"]["material"] == key for r in rows)
    assert any(r["action"] == "refused" and r["detail"]["attempt"] == "material_view" for r in rows)


async def test_staff_calls_are_limited_per_staff_member(aiohttp_client, settings, content, clock) -> None:
    limited = settings.model_copy(update={"staff_rate_limit": settings.staff_rate_limit.model_copy(
        update={"messages": 3, "per_seconds": 3600})})
    client = await aiohttp_client(build_app(limited, content, clock))
    tokens = await staff_tokens(client)
    answers = [(await client.get("/api/v1/staff/me", headers=auth(tokens["clerk"]))).status for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    last = await client.get("/api/v1/staff/cases", headers=auth(tokens["clerk"]))
    assert last.status == 429 and int(last.headers["Retry-After"]) >= 1
    assert "太频繁" in (await last.json())["detail"]
    assert (await client.get("/api/v1/staff/me", headers=auth(tokens["approver"]))).status == 200  # not shared
