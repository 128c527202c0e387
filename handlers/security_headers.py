"""The security headers of every response, app-wide (pages, static files, API answers alike): a page runs only
this app's scripts and talks only to it, no other site may frame it or learn its address, and no response is
sniffed into another type. A handler that sets its own policy (an uploaded file's sandbox) keeps it."""
from __future__ import annotations

from aiohttp import web

POLICY = ("default-src 'self'; img-src 'self' blob: data:; object-src 'none'; frame-src blob:; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer"}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` hook: the headers above, where the handler has not set them."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
