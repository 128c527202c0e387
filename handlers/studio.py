"""Studio API (/api/v1/studio/…) for editors and publishers: content versions, their files and diffs, drafts,
trying an utterance on a draft beside the live version, publish and rollback. Bearer-token authenticated; roles and
the two-person rule are checked (and refusals audited) by bot/studio/service.py: 403 for a role that may not, 404
for an unknown version, 409 when the live pointer moved meanwhile or there is nothing to roll back to, 422 for a
malformed body or a version that fails the checks (with `errors` and `warnings`, each `file:line: reason`).
A 实施清单 import is a multipart upload read here with its own cap (MAX_IMPORT_BYTES, far above the app's body
limit): 413 past it."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage
from pydantic import BaseModel, Field, ValidationError, model_validator

from bot.staff import Staff
from bot.studio.catalog_import import MAX_IMPORT_BYTES, rows_json
from bot.studio.releases import GateFailed
from bot.studio.service import FormEdit, Studio
from handlers.pages import STATIC
from handlers.problems import dumps, problem, validation_problem
from handlers.routes import Param, Route
from handlers.staff_auth import StaffRoutes
from handlers.upload_reader import CHUNK, UploadTimeout, within

_VERSION = "{version}"
IDLE_SECONDS = 30.0
MESSAGE_BYTES = 2000
_IMPORT = {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "message": {"type": "string", "description": "what the draft changes and why"},
    "file": {"type": "string", "format": "binary", "description": "实施清单 .csv or .xlsx, at most 20 MB"}}}}}
log = logging.getLogger(__name__)
Body = TypeVar("Body", bound=BaseModel)


class TooLarge(Exception):
    """The upload is over MAX_IMPORT_BYTES."""


class DraftRequest(BaseModel):
    """A new draft: a version with some files replaced (text) or removed (null)."""

    base: str = Field(pattern=r"^[0-9a-f]{64}$", description="the version the draft starts from")
    files: dict[str, str | None] = Field(min_length=1, description="path under intents/ -> new text, or null to "
                                         "remove the file", examples=[{"catalog/gongan.yaml": "…"}])
    message: str = Field(min_length=1, max_length=500, description="what changed and why",
                         examples=["居住证补一个别名「暂住证」"])


class TryRequest(BaseModel):
    text: str = Field(min_length=1, max_length=200, description="what a citizen might say",
                      examples=["暂住证怎么办"])


class FaqEntry(BaseModel):
    ask: list[str] = Field(min_length=1, description="words that mean this question", examples=[["多少钱"]])
    answer: str = Field(min_length=1, max_length=2000, examples=["不收费。"])


class ItemFields(BaseModel):
    """The fields of one item a form edits; a field left out stays as it is."""

    aliases: list[str] | None = Field(None, max_length=500, description="other names citizens use")
    situations: list[str] | None = Field(None, max_length=500, description="情形: what a citizen in it would say")
    faq: list[FaqEntry] | None = Field(None, max_length=200, description="its script's questions and answers")
    steps: list[dict[str, Any]] | None = Field(None, max_length=100, description="its script's steps, each "
                                               "`field` or `material` with optional label, prompt, options, "
                                               "optional", examples=[[{"field": "phone"}]])


class ValidateRequest(BaseModel):
    """One edit to check without saving it: a file's whole text, an item's fields, or prompts' texts."""

    base: str = Field(pattern=r"^[0-9a-f]{64}$", description="the version the edit starts from")
    path: str | None = Field(None, max_length=200, description="a file under intents/ (with `text`)",
                             examples=["catalog/gongan.yaml"])
    text: str | None = Field(None, max_length=2_000_000, description="the file's proposed text")
    item: str | None = Field(None, max_length=40, description="a catalog item's code (with `fields`)",
                             examples=["GA0050000"])
    fields: ItemFields | None = None
    prompts: dict[str, str] | None = Field(None, description="prompt key -> proposed text")

    @model_validator(mode="after")
    def one_edit(self) -> "ValidateRequest":
        modes = [self.path is not None or self.text is not None, self.item is not None, self.prompts is not None]
        if sum(modes) != 1 or (modes[0] and (self.path is None or self.text is None)):
            raise ValueError("send exactly one of: path with text, item (with fields), prompts")
        return self

    def edit(self) -> FormEdit:
        fields = self.fields.model_dump(exclude_none=True) if self.fields else None
        return FormEdit(self.path, self.text, self.item, fields, self.prompts)


class PublishRequest(BaseModel):
    version: str = Field(pattern=r"^[0-9a-f]{64}$", description="the version to make live")


DRAFT_MAX_BYTES = 4 * 1024 * 1024  # a draft carries whole files (a catalog file with situations is over 64 KB)


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    """The whole body, or None when it is over `cap` bytes, declared or sent (the app's own limit is 64 KB)."""
    if request.content_length is not None and request.content_length > cap:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body.extend(chunk)
        if len(body) > cap:
            return None
    return bytes(body)

async def _capped_body(request: web.Request, model: type[Body], what: str) -> Body | web.Response:
    """The JSON body read into `model` (up to DRAFT_MAX_BYTES), or the problem to answer: 413 or 422."""
    sent = await _read_capped(request, DRAFT_MAX_BYTES)
    if sent is None:
        return problem(413, "Request Entity Too Large", f"{what}太大了（最多 4 MB）。")
    try:
        return model.model_validate_json(sent)
    except ValidationError as exc:
        return validation_problem(exc)


class StudioHandlers:
    def __init__(self, studio: Studio) -> None:
        self._studio = studio

    async def versions(self, request: web.Request, staff: Staff) -> web.Response:
        overview = await self._studio.overview(staff)
        return web.json_response({"live": overview.live,
                                  "versions": [v.model_dump(mode="json") for v in overview.versions],
                                  "history": [p.model_dump(mode="json") for p in overview.history]}, dumps=dumps)

    async def files(self, request: web.Request, staff: Staff) -> web.Response:
        version, files = await self._studio.files(staff, request.match_info["version"])
        return web.json_response({**version.model_dump(mode="json"), "files": files}, dumps=dumps)

    async def diff(self, request: web.Request, staff: Staff) -> web.Response:
        new, old = request.match_info["version"], request.query.get("against", "")
        if not old:
            return problem(422, "Invalid request", "请用 against 指定要比较的版本。")
        return web.json_response({"old": old, "new": new, "files": await self._studio.diff(staff, old, new)},
                                 dumps=dumps)

    async def draft(self, request: web.Request, staff: Staff) -> web.Response:
        body = await _capped_body(request, DraftRequest, "草稿")
        if isinstance(body, web.Response):
            return body
        draft = await self._studio.draft(staff, body.base, body.files, body.message)
        return web.json_response({"version": draft.version.model_dump(mode="json"), "checks": draft.report.to_json()},
                                 status=201, dumps=dumps)

    async def validate(self, request: web.Request, staff: Staff) -> web.Response:
        body = await _capped_body(request, ValidateRequest, "内容")
        if isinstance(body, web.Response):
            return body
        result = await self._studio.validate(staff, body.base, body.edit())
        return web.json_response(result.to_json(), dumps=dumps)

    async def trial(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            body = TryRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            return validation_problem(exc)
        return web.json_response(await self._studio.trial(staff, request.match_info["version"], body.text),
                                 dumps=dumps)

    async def import_catalog(self, request: web.Request, staff: Staff) -> web.Response:
        await self._studio.may_import(staff)
        if (request.content_length or 0) > MAX_IMPORT_BYTES + CHUNK:
            return _too_large()
        try:
            filename, data, message = await _read_import(request)
        except TooLarge:
            return _too_large()
        except UploadTimeout:
            response = problem(408, "Request timeout", "上传超时了，请重新上传。")
            response.force_close()
            return response
        except (ValueError, AssertionError, BadHttpMessage) as exc:
            log.info("catalog import refused: malformed multipart body (%s: %.200s)", type(exc).__name__, exc)
            return problem(400, "Bad request", "上传的内容格式不对，请重新上传。")
        if data is None:
            return problem(422, "Invalid request", "没有收到文件，请选择实施清单 CSV 或 XLSX 文件。")
        done = await self._studio.import_catalog(staff, data, filename, message or f"导入实施清单 {filename}")
        rows = rows_json(done.rows)
        if done.draft is None:
            return problem(422, "Nothing to import", "没有可以导入的事项，请按拒绝原因改好后再导入。", rows=rows)
        return web.json_response({"version": done.draft.version.model_dump(mode="json"),
                                  "checks": done.draft.report.to_json(), "rows": rows}, status=201, dumps=dumps)

    async def report(self, request: web.Request, staff: Staff) -> web.Response:
        return web.json_response(await self._studio.report(staff, request.match_info["version"]), dumps=dumps)

    async def publish(self, request: web.Request, staff: Staff) -> web.Response:
        try:
            body = PublishRequest.model_validate_json(await request.read())
            report = await self._studio.publish(staff, body.version)
        except ValidationError as exc:
            return validation_problem(exc)
        except GateFailed as exc:
            return problem(422, "Checks failed", exc.detail, **exc.report.to_json())
        return web.json_response({"live": body.version, "checks": report.to_json()}, dumps=dumps)

    async def rollback(self, request: web.Request, staff: Staff) -> web.Response:
        return web.json_response({"live": await self._studio.rollback(staff)}, dumps=dumps)

    async def page(self, request: web.Request) -> web.FileResponse:
        """The studio page (its script signs in with a staff token and calls the API above)."""
        return web.FileResponse(STATIC / "studio.html", headers={"Cache-Control": "no-store"})


async def _read_import(request: web.Request) -> tuple[str, bytes | None, str]:
    """The `file` part (its name and bytes; None when absent) and the `message` part of a multipart body."""
    reader = await request.multipart()
    filename, data, message = "", None, ""
    while (part := await within(reader.next(), IDLE_SECONDS)) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "message":
            message = (await within(part.read_chunk(MESSAGE_BYTES), IDLE_SECONDS)).decode(errors="replace").strip()
        elif part.name == "file" and data is None:
            filename, chunks, size = part.filename or "upload.csv", [], 0
            while chunk := await within(part.read_chunk(CHUNK), IDLE_SECONDS):
                size += len(chunk)
                if size > MAX_IMPORT_BYTES:
                    raise TooLarge
                chunks.append(chunk)
            data = b"".join(chunks)
    return filename, data, message[:500]


def _too_large() -> web.Response:
    response = problem(413, "Payload too large", f"文件太大了，实施清单最大 {MAX_IMPORT_BYTES // 2**20} MB。")
    response.force_close()  # the rest of the body is not read
    return response


def routes(studio: StudioHandlers, guard: StaffRoutes) -> list[Route]:
    base, version = "/api/v1/studio/versions", (Param("version", where="path", description="a version id (sha256)"),)
    return [
        Route("GET", "/studio/", studio.page, "The intent studio page", ok=(200, "text/html")),
        guard.route("GET", base, studio.versions, "Content versions (newest first), the live one and the history of "
                    "publishes and rollbacks", ok=(200, "{live, versions, history}")),
        guard.route("GET", f"{base}/{_VERSION}", studio.files, "A version with its files (path -> text)",
                    params=version, ok=(200, "version with files"), problems=(404,)),
        guard.route("GET", f"{base}/{_VERSION}/diff", studio.diff, "Unified diff per changed file from `against` "
                    "to this version", params=(*version, Param("against", required=True,
                                                                  description="the older version id")),
                    ok=(200, "{old, new, files: {path: diff}}"), problems=(404, 422)),
        guard.route("POST", base, studio.draft, "A draft from a version with edited files, with the checks' report",
                    request=DraftRequest, ok=(201, "{version, checks}"), problems=(404, 422)),
        guard.route("POST", "/api/v1/studio/validate", studio.validate, "The checks' findings on an edit, built in "
                    "memory and not saved (for checking as one types): errors and warnings with `where` (file:line), "
                    "check `code`, `message` and the form `field` (e.g. aliases[2]), the edited files' texts, and the "
                    "edited item's or prompts' values after the edit",
                    request=ValidateRequest, ok=(200, "{passed, errors, warnings, files, item, prompts}"),
                    problems=(404, 413, 422)),
        dataclasses.replace(guard.route(
            "POST", "/api/v1/studio/import", studio.import_catalog, "A draft from the live version with a 实施清单 "
            "CSV/XLSX imported as catalog/imported.yaml: its checks and the importer's row report (accepted, "
            "warnings, rejected rows with reasons)", ok=(201, "{version, checks, rows}"),
            problems=(400, 404, 408, 413, 422)), request_body={"required": True, "content": _IMPORT}),
        guard.route("GET", f"{base}/{_VERSION}/report", studio.report, "对比报告: the matching report of this version "
                    "on the labelled utterances beside the live version's (accuracy, none/clarify rates, items that "
                    "changed, most confused pairs, utterances answered differently, SVG confusion chart)",
                    params=version, ok=(200, "{version, against, draft, live, items, confused, changed, chart}"),
                    problems=(404,)),
        guard.route("POST", f"{base}/{_VERSION}/try", studio.trial, "What the matcher makes of an utterance on this "
                    "version and on the live one (decision, candidates, scores, terms)", params=version,
                    request=TryRequest, ok=(200, "{text, draft, live}"), problems=(404, 422)),
        guard.route("POST", "/api/v1/studio/publish", studio.publish, "Make a version live on every instance (checks "
                    "first; publishers only, never their own draft)", request=PublishRequest,
                    ok=(200, "{live, checks}"), problems=(404, 409, 422)),
        guard.route("POST", "/api/v1/studio/rollback", studio.rollback, "The version live before the latest publish "
                    "is live again (publishers only)", ok=(200, "{live}"), problems=(409,)),
    ]
