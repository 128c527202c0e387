"""Log lines: the JSON form carries the request id, extras and the traceback; the text form the request id."""
from __future__ import annotations

import json
import logging
import sys

from observability.logs import REQUEST_ID, TEXT_FORMAT, JsonFormatter, RequestIdFilter


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("zhengwu.test", logging.WARNING, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    RequestIdFilter().filter(made)
    return made


def test_a_json_line_has_the_request_id_and_the_extras() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        line = json.loads(JsonFormatter().format(record("办件 %s 已提交", case="DLH1")))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req-42" and line["level"] == "WARNING" and line["logger"] == "zhengwu.test"
    assert line["message"] == "办件 %s 已提交" and line["case"] == "DLH1" and line["time"].endswith("+00:00")


def test_outside_a_request_the_id_is_null_and_a_traceback_is_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed")
        made.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(made))
    assert line["request_id"] is None and "ValueError: boom" in line["exception"]
    assert "[None]" in logging.Formatter(TEXT_FORMAT).format(record("plain"))
