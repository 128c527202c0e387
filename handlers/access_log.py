"""The access log without secrets or identities: the values of WeChat's signing parameters (signature,
timestamp, nonce, msg_signature, echostr), openids and `?user=` are replaced by *** in the request line and the
Referer before the line is written."""
from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from aiohttp.abc import BaseRequest
from aiohttp.web_log import AccessLogger
from aiohttp.web_response import StreamResponse

REDACTED_PARAMS = frozenset({"signature", "timestamp", "nonce", "msg_signature", "echostr", "openid", "user"})
_PARAM = re.compile(r"([?&;])([^=&;#\s]*)=([^&;#\s]*)")
_REDACTED_FIELDS = ("first_request_line", ("request_header", "Referer"))


def redact_query(text: str) -> str:
    """`text` (a request line, a URL) with the value of each parameter named in REDACTED_PARAMS replaced."""
    return _PARAM.sub(lambda m: f"{m[1]}{m[2]}=***" if unquote(m[2]).lower() in REDACTED_PARAMS else m[0], text)


class RedactingAccessLogger(AccessLogger):
    """aiohttp's access log (same format), with the request line and the Referer redacted."""

    def _format_line(self, request: BaseRequest, response: StreamResponse,
                     time: float) -> Iterable[tuple[str | tuple[str, str], str]]:
        return [(key, redact_query(value) if key in _REDACTED_FIELDS and isinstance(value, str) else value)
                for key, value in super()._format_line(request, response, time)]
