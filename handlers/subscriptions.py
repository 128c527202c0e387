"""POST /api/v1/wechat/subscriptions (logged in): the result of wx.requestSubscribeMessage, counted as consents."""
from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.subscriptions import ConsentResult, Subscriptions
from handlers.auth import RequestAuth
from handlers.problems import dumps, validation_problem
from handlers.routes import Route


class ConsentRequest(BaseModel):
    """{"results": {"<template_id>": "accept" | "reject" | "ban" | "filter"}}, as the mini-program got them."""

    results: dict[str, ConsentResult] = Field(max_length=20)


class ConsentsResponse(BaseModel):
    remaining: dict[str, int] = Field(description="consents left per configured template id of the request")


class SubscriptionHandlers:
    def __init__(self, subscriptions: Subscriptions, auth: RequestAuth) -> None:
        self._subscriptions, self._auth = subscriptions, auth

    async def record(self, request: web.Request) -> web.Response:
        """Answers {"remaining": {"<template_id>": n}} for the configured templates in the request."""
        claims = await self._auth.logged_in(request)
        try:
            body = ConsentRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        remaining = await self._subscriptions.record(claims.user, body.results)
        return web.json_response(ConsentsResponse(remaining=remaining).model_dump(), dumps=dumps)


def routes(subscriptions: SubscriptionHandlers) -> list[Route]:
    return [Route("POST", "/api/v1/wechat/subscriptions", subscriptions.record,
                  "The result of wx.requestSubscribeMessage: each accept allows one subscribe message of that template, "
                  "ban clears them", security="session", request=ConsentRequest, response=ConsentsResponse,
                  ok=(200, "recorded"), problems=(401, 422))]
