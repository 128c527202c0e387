"""OpenAPI 3.1 document of the public API, with schemas generated from the pydantic models."""
from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from bot.dialogue.replies import ChatResponse
from handlers.chat import ChatRequest

_USER = {"name": "user", "in": "query", "schema": {"type": "string"},
         "description": "the citizen's id when no session token is sent (refused with require_login)"}
_CODE = {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}
_PROBLEM = {"description": "Problem details (RFC 9457); `detail` is Chinese text a client may show",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _ticket_text(summary: str) -> dict[str, Any]:
    """A staff POST on a rectification ticket with a {text} body, answering the ticket."""
    return {"post": {
        "summary": summary, "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
        "responses": {"200": {"description": "ticket"}, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM,
                      "422": _PROBLEM}}}


def openapi_document() -> dict[str, Any]:
    """Build the document once at start-up."""
    _, schemas = models_json_schema([(ChatRequest, "validation"), (ChatResponse, "serialization")],
                                    ref_template="#/components/schemas/{model}")
    components = schemas.get("$defs", {})
    components["Problem"] = {"type": "object", "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}}, "required": ["title", "status", "detail"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "zhengwu-bot API", "version": "1.0.0",
                 "description": "德令哈市政务服务对话机器人。Citizen APIs take the user from the session token "
                                "(`Authorization: Bearer`, see /api/v1/auth/wechat/login); without one, `user` is "
                                "trusted unless the server runs with require_login."},
        "paths": {
            "/api/v1/chat/messages": {"post": {
                "summary": "Send a message (text, a tapped option's value, or a file) and get the bot's replies",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                       "properties": {"user": {"type": "string"},
                                                                      "file": {"type": "string",
                                                                               "format": "binary"}}}}}},
                "responses": {"200": {"description": "Replies to render in order", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatResponse"}}}},
                    "413": _PROBLEM, "422": _PROBLEM, "503": _PROBLEM}}},
            "/api/v1/cases": {"get": {
                "summary": "The user's cases, newest first",
                "parameters": [_USER],
                "responses": {"200": {"description": "{cases: [Case]}"}, "422": _PROBLEM}}},
            "/api/v1/cases/{number}": {"get": {
                "summary": "One case of the user (someone else's case answers 404, like a missing one)",
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                               _USER],
                "responses": {"200": {"description": "Case with masked personal data"}, "404": _PROBLEM}}},
            "/api/v1/messages": {"get": {
                "summary": "The user's unread progress messages (marked read); also shown when the chat opens",
                "parameters": [_USER],
                "responses": {"200": {"description": "{messages: [{type: text, text}]}"}, "422": _PROBLEM}}},
            "/api/v1/staff/outbox/dead": {"get": {
                "summary": "Progress messages not delivered after every retry (supervisors only)",
                "security": [{"bearer": []}],
                "responses": {"200": {"description": "{dead_letters: [...]}"}, "401": _PROBLEM, "403": _PROBLEM}}},
            "/api/v1/staff/cases": {"get": {
                "summary": "Staff queue: open cases of the staff member's department and level, with deadlines",
                "security": [{"bearer": []}],
                "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"},
                                "description": "comma-separated statuses (default: all open ones)"},
                               {"name": "overdue", "in": "query", "schema": {"type": "boolean"}}],
                "responses": {"200": {"description": "{cases: [...]}"}, "401": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/staff/cases/{number}": {"get": {
                "summary": "One case (audited; personal data masked unless the role is clerk), with its history",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "case"}, "401": _PROBLEM,
                              "404": {"description": "missing or outside the staff member's scope (not disclosed)"}}}},
            "/api/v1/staff/cases/{number}/transitions": {"post": {
                "summary": "Move a case: returned (with materials), pre_reviewed, accepted, refused, in_progress, completed",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["to"], "properties": {
                        "to": {"type": "string"}, "reason": {"type": "string"},
                        "materials": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
                "responses": {"200": {"description": "the case after the move"}, "401": _PROBLEM, "403": _PROBLEM,
                              "404": _PROBLEM, "409": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/staff/cases/{number}/delivery": {"post": {
                "summary": "A clerk records how a completed case's result reached the citizen (the citizen is told)",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["method"], "properties": {
                        "method": {"enum": ["window", "mail", "elicence"]}, "tracking": {"type": "string"}}}}}},
                "responses": {"200": {"description": "recorded"}, "401": _PROBLEM, "403": _PROBLEM,
                              "404": _PROBLEM, "409": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/staff/cases/{number}/pledges/{key}/verification": {"post": {
                "summary": "A clerk or approver records the verification (核查) of a 告知承诺; the citizen is told. "
                           "A false one flags the case and lets the approver refuse it while it is open",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["outcome"], "properties": {
                        "outcome": {"enum": ["confirmed", "false"]}, "note": {"type": "string"}}}}}},
                "responses": {"200": {"description": "the verification"}, "401": _PROBLEM, "403": _PROBLEM,
                              "404": _PROBLEM, "409": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/staff/cases/{number}/materials/{key}/received": {"post": {
                "summary": "A clerk records that a 容缺 material was handed in",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "received"}, "401": _PROBLEM, "403": _PROBLEM,
                              "404": _PROBLEM, "409": _PROBLEM}}},
            "/api/v1/staff/rectifications": {"get": {
                "summary": "差评整改 tickets of the staff member's department, with overdue and escalated (督办) flags",
                "security": [{"bearer": []}],
                "parameters": [{"name": "escalated", "in": "query", "schema": {"type": "boolean"},
                                "description": "only tickets with a missed deadline escalated to the supervisors"}],
                "responses": {"200": {"description": "{rectifications: [...]}"}, "401": _PROBLEM}}},
            "/api/v1/staff/rectifications/{id}/supervision": _ticket_text(
                "A supervisor's 督办 note on a ticket of their department (the latest is kept)"),
            "/api/v1/staff/notifications": {"get": {
                "summary": "Notices for the staff member's role in their department, newest first (e.g. supervisors: "
                           "rectification deadlines missed)", "security": [{"bearer": []}],
                "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer"},
                                "description": "only notices with a larger id (polling)"}],
                "responses": {"200": {"description": "{notifications: [...]}"}, "401": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/staff/rectifications/{id}/callback": _ticket_text("Record the callback (回访) to the citizen"),
            "/api/v1/staff/rectifications/{id}/close": _ticket_text(
                "Close with the written result; the citizen is told and can answer resolved or not"),
            "/api/v1/staff/statistics": {"get": {
                "summary": "Satisfaction and bad-rating rates per department and item, rectification on-time rate, "
                           "网上可办率", "security": [{"bearer": []}],
                "responses": {"200": {"description": "statistics"}, "401": _PROBLEM}}},
            "/api/v1/payments/wechat/notify": {"post": {
                "summary": "WeChat Pay v3 notification: signature, serial and timestamp window checked, replays "
                           "refused, acted on once per out_trade_no",
                "responses": {"204": {"description": "taken"},
                              "401": {"description": "{code: FAIL, message} (WeChat Pay's format; it retries)"}}}},
            "/api/v1/payments/sandbox/{out_trade_no}/confirm": {"post": {
                "summary": "Sandbox provider only: the payer pays (stands in for wx.requestPayment)",
                "parameters": [{"name": "out_trade_no", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "paid; the notification follows"}, "409": _PROBLEM}}},
            "/api/v1/staff/cases/{number}/payments": {"get": {
                "summary": "Payment orders of a case (staff of its department; audited as a view)",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "{payments: [...]}"}, "401": _PROBLEM, "404": _PROBLEM}}},
            "/api/v1/staff/payments/reconciliation": {"get": {
                "summary": "Orders of a day (China time) compared with the provider's records (supervisors)",
                "security": [{"bearer": []}],
                "parameters": [{"name": "date", "in": "query", "required": True,
                                "schema": {"type": "string", "format": "date"}}],
                "responses": {"200": {"description": "{date, mismatches: [{out_trade_no, case_number, kind, ours, "
                                                     "theirs}]}"}, "401": _PROBLEM, "403": _PROBLEM, "422": _PROBLEM}}},
            "/api/v1/auth/wechat/login": {"post": {
                "summary": "Log in with a wx.login code: a session token (citizen APIs) for the WeChat user",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _CODE}}},
                "responses": {"200": {"description": "{token, expires_at}"}, "401": _PROBLEM, "422": _PROBLEM,
                              "503": _PROBLEM}}},
            "/api/v1/auth/logout": {"post": {
                "summary": "Revoke the session token of the request", "security": [{"session": []}],
                "responses": {"204": {"description": "revoked"}, "401": _PROBLEM}}},
            "/api/v1/auth/wechat/phone": {"post": {
                "summary": "Bind the phone number of a getPhoneNumber code to the profile (stored encrypted, offered "
                           "in forms)", "security": [{"session": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _CODE}}},
                "responses": {"200": {"description": "{phone} masked, e.g. 138****8000"}, "401": _PROBLEM,
                              "422": _PROBLEM, "503": _PROBLEM}}},
            "/api/v1/wechat/subscriptions": {"post": {
                "summary": "The result of wx.requestSubscribeMessage: each accept allows one subscribe message of "
                           "that template, ban clears them", "security": [{"session": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["results"], "properties": {"results": {
                        "type": "object", "additionalProperties": {"enum": ["accept", "reject", "ban", "filter"]}}}}}}},
                "responses": {"200": {"description": "{remaining: {template_id: n}} for configured templates"},
                              "401": _PROBLEM, "422": _PROBLEM}}},
            "/healthz": {"get": {"summary": "Liveness and database check",
                                 "responses": {"200": {"description": "ok"}, "503": _PROBLEM}}},
        },
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "token from `python -m bot add-staff`"},
                                           "session": {"type": "http", "scheme": "bearer",
                                                       "description": "session token from WeChat login"}}},
    }
