"""Only a request body that does not validate is the client's fault (422); any other validation error is ours."""
from __future__ import annotations

import logging

from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.problems import problems_middleware, validation_problem


class Body(BaseModel):
    text: str


async def test_validation_error_inside_the_app_is_a_503_not_a_422(aiohttp_client, caplog) -> None:
    async def stored_state_broken(request: web.Request) -> web.Response:
        Body.model_validate_json(b'{"text": 1}')  # e.g. something read back from a store
        return web.Response()

    async def bad_body(request: web.Request) -> web.Response:
        try:
            Body.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        return web.Response()

    app = web.Application(middlewares=[problems_middleware(logging.getLogger("t"))])
    app.router.add_get("/inside", stored_state_broken)
    app.router.add_post("/body", bad_body)
    client = await aiohttp_client(app)
    inside = await client.get("/inside")
    assert inside.status == 503 and inside.content_type == "application/problem+json"
    assert "unhandled error" in caplog.text
    body = await client.post("/body", data=b'{"text": 1}')
    assert body.status == 422
