"""OpenAPI 3.1 document of the public API, with schemas generated from the pydantic models."""
from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from bot.dialogue.replies import ChatResponse
from handlers.chat import ChatRequest

_PROBLEM = {"description": "Problem details (RFC 9457); `detail` is Chinese text a client may show",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


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
                 "description": "德令哈市政务服务对话机器人。`user` is trusted until WeChat login lands; "
                                "it will then be taken from the session token."},
        "paths": {
            "/api/v1/chat/messages": {"post": {
                "summary": "Send a message (text, a tapped option's value, or a file) and get the bot's replies",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["user", "file"],
                                                       "properties": {"user": {"type": "string"},
                                                                      "file": {"type": "string",
                                                                               "format": "binary"}}}}}},
                "responses": {"200": {"description": "Replies to render in order", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ChatResponse"}}}},
                    "413": _PROBLEM, "422": _PROBLEM, "503": _PROBLEM}}},
            "/api/v1/cases": {"get": {
                "summary": "The user's cases, newest first",
                "parameters": [{"name": "user", "in": "query", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "{cases: [Case]}"}, "422": _PROBLEM}}},
            "/api/v1/cases/{number}": {"get": {
                "summary": "One case of the user (someone else's case answers 404, like a missing one)",
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "user", "in": "query", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Case with masked personal data"}, "404": _PROBLEM}}},
            "/api/v1/messages": {"get": {
                "summary": "The user's unread progress messages (marked read); also shown when the chat opens",
                "parameters": [{"name": "user", "in": "query", "required": True, "schema": {"type": "string"}}],
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
            "/api/v1/staff/cases/{number}/materials/{key}/received": {"post": {
                "summary": "A clerk records that a 容缺 material was handed in",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "received"}, "401": _PROBLEM, "403": _PROBLEM,
                              "404": _PROBLEM, "409": _PROBLEM}}},
            "/api/v1/staff/rectifications": {"get": {
                "summary": "差评整改 tickets of the staff member's department, with overdue flags",
                "security": [{"bearer": []}],
                "responses": {"200": {"description": "{rectifications: [...]}"}, "401": _PROBLEM}}},
            "/api/v1/staff/rectifications/{id}/callback": {"post": {
                "summary": "Record the callback (回访) to the citizen", "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
                "responses": {"200": {"description": "ticket"}, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM,
                              "422": _PROBLEM}}},
            "/api/v1/staff/rectifications/{id}/close": {"post": {
                "summary": "Close with the written result; the citizen is told and can answer resolved or not",
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
                "responses": {"200": {"description": "ticket"}, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM,
                              "422": _PROBLEM}}},
            "/api/v1/staff/statistics": {"get": {
                "summary": "Satisfaction and bad-rating rates per department and item, rectification on-time rate, "
                           "网上可办率", "security": [{"bearer": []}],
                "responses": {"200": {"description": "statistics"}, "401": _PROBLEM}}},
            "/healthz": {"get": {"summary": "Liveness and database check",
                                 "responses": {"200": {"description": "ok"}, "503": _PROBLEM}}},
        },
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "token from `python -m bot add-staff`"}}},
    }
