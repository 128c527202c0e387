"""One endpoint of the route table: what aiohttp registers and what the OpenAPI document says about it.

Every handler module has a `routes(...)` returning its `Route`s; app.py registers them and handlers/openapi.py
describes exactly those, so the document cannot name a route that does not exist, nor miss one.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Param:
    """A query, path or header parameter (path parameters not listed are documented as strings)."""

    name: str
    type: str = "string"
    where: Literal["query", "path", "header"] = "query"
    description: str = ""
    required: bool = False
    format: str | None = None
    pattern: str | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        if self.format:
            schema["format"] = self.format
        if self.pattern:
            schema["pattern"] = self.pattern
        return schema


@dataclass(frozen=True)
class Route:
    """`request`/`response` are the pydantic models of the JSON bodies; `request_body`/`ok_content` are written by
    hand only where no model exists (multipart upload, WeChat's XML callback, WeChat Pay's notify)."""

    method: str
    path: str
    handler: Handler
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    ok: tuple[int, str] = (200, "OK")
    problems: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    security: Literal["bearer", "session"] | None = None
    request_body: Mapping[str, Any] | None = None
    other_content: Mapping[str, Any] = field(default_factory=dict)  # extra request media types beside the model
    responses: Mapping[str, Any] = field(default_factory=dict)  # hand-written responses (not problem details)
