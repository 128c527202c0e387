"""The web app: bootstrap's services -> each handler module's routes -> aiohttp. `python app.py` serves."""
from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import jieba
from aiohttp import web

from bootstrap import PUBLISH_GATE, Services, bootstrap, load_settings
from bot.studio.gate import Gate
from bot.clock import Clock, utc_now
from bot.config import Settings, production_problems
from bot.content import Content
from bot.customer_service import CustomerService
from bot.feedback import Feedback
from bot.lifecycle import CASEWORK
from bot.outbox.dispatcher import Dispatcher
from bot.payments.service import Payments
from handlers import (auth, cases, chat, console, feedback, handoffs, live, ops, pages, payments, staff, studio,
                      subscriptions, wechat)
from handlers import unmatched
from handlers.access_log import RedactingAccessLogger
from handlers.auth import RequestAuth
from handlers.openapi import OpenApiHandler
from handlers.problems import problems_middleware
from handlers.routes import Route
from handlers.security_headers import add_security_headers
from handlers.staff_auth import StaffRoutes
from handlers.upload_reader import SpoolLimits, UploadSlots
from jobs import FlushUnmatched, dispatch_progress, housekeeping, housekeeping_jobs
from observability.logs import configure_logging
from storage.migrate import upgrade
from storage.rate_limits import RateLimit
from storage.read_limits import read_limiter

SERVICES = web.AppKey("services", Services)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
FEEDBACK = web.AppKey("feedback", Feedback)
PAYMENTS = web.AppKey("payments", Payments)
CUSTOMER_SERVICE = web.AppKey("customer_service", CustomerService)


def api_routes(services: Services) -> list[Route]:
    """Every route the services support (WeChat's only when it is configured), in registration order."""
    s, settings = services, services.settings
    request_auth = RequestAuth(s.logins, settings.require_login)
    staff_calls = read_limiter(RateLimit(settings.staff_rate_limit.messages, settings.staff_rate_limit.per_seconds),
                               s.stores.shared.scripts, f"{settings.redis_prefix}:staff-api")
    guard = StaffRoutes(s.stores.staff, staff_calls, CASEWORK, s.stores.audit)  # editors and publishers see no cases
    studio_guard = StaffRoutes(s.stores.staff, staff_calls)  # the studio services check their roles themselves
    table = [
        *chat.routes(chat.ChatHandlers(s.engine, s.content, request_auth, upload_gate(services))),
        *cases.routes(cases.CaseHandlers(s.stores.cases, s.stores.inbox, s.payments, s.clock, request_auth,
                                         s.content, read_limiter(RateLimit(settings.rate_limit.messages,
                                                                           settings.rate_limit.per_seconds),
                                                                 s.stores.shared.scripts, settings.redis_prefix))),
        *staff.routes(staff.StaffHandlers(s.stores.outbox, s.review, s.stores.notices, s.stores.blobs), guard),
        *feedback.routes(feedback.FeedbackHandlers(s.feedback), guard),
        *payments.routes(payments.PaymentHandlers(s.payments, s.review, s.sandbox, request_auth), guard),
        *pages.routes(pages.PageHandlers(s.stores.db)),
        *console.routes(console.ConsoleHandlers(), guard),
        *ops.routes(ops.OpsHandlers(s.metrics, ops.readiness(s.stores.db, s.stores.shared.redis, s.content),
                                    settings.metrics_token)),
        *studio.routes(studio.StudioHandlers(s.studio), studio_guard),
        *handoffs.routes(handoffs.HandoffHandlers(
            s.handoffs, s.engine, s.content, s.channel, s.stores.staff), guard),
        *live.routes(live.LiveHandlers(s.channel, s.presence, s.logins, settings.require_login, s.stores.staff,
                                       settings.handoff.allowed_origins)),
        *unmatched.routes(unmatched.UnmatchedHandlers(s.unmatched), studio_guard),
    ]
    if (w := s.wechat) is not None:
        table += [*wechat.routes(wechat.WeChatHandlers(w.decoder, w.customer_service, w.signed)),
                  *auth.routes(auth.AuthHandlers(w.accounts, s.logins, request_auth)),
                  *subscriptions.routes(subscriptions.SubscriptionHandlers(w.subscriptions, request_auth))]
    return table


def upload_gate(services: Services) -> chat.UploadGate:
    """Upload limits from the settings: slots of this process, the per-user rate shared like the read limits,
    files spooled in the blob folder."""
    u, scripts = services.settings.uploads, services.stores.shared.scripts
    return chat.UploadGate(SpoolLimits(u.max_bytes, u.idle_seconds, u.total_seconds,
                                       services.settings.blob_dir / "incoming"),
                           UploadSlots(u.per_user, u.per_process),
                           read_limiter(RateLimit(u.per_minute, 60), scripts, services.settings.redis_prefix, "uploads"))


async def _lifecycle(services: Services, app: web.Application) -> AsyncIterator[None]:
    """Migrate, run the background jobs while serving, then stop them and close everything in order."""
    settings, stores, log = services.settings, services.stores, logging.getLogger("zhengwu")
    await upgrade(stores.db)
    await services.live.start(settings.intents_dir)  # the deployed intents/ as a version, then the live one
    await services.revoked.load()  # logged-out tokens are refused from the first request on
    catalog = services.content.current.catalog
    log.info("serving %d items, %d bundles; database %s; sessions in %s", len(catalog.items), len(catalog.bundles),
             stores.db.url.render_as_string(hide_password=True), "redis" if settings.redis_url else "the database")
    background = [asyncio.create_task(housekeeping(housekeeping_jobs(services))),
                  asyncio.create_task(dispatch_progress(services.dispatcher, stores.shared.wakeups,
                                                        settings.dispatch_interval_seconds)),
                  asyncio.create_task(services.live.follow(stores.shared.content_wakeups, settings.studio_poll_seconds)),
                  asyncio.create_task(services.revoked.follow(stores.shared.logout_wakeups,
                                                              settings.revocation_poll_seconds)),
                  asyncio.create_task(housekeeping([FlushUnmatched(services.unmatched)],
                                                   settings.unmatched_flush_seconds))]
    yield
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)  # let them leave the database before it closes
    try:
        await FlushUnmatched(services.unmatched)()
    except Exception:  # the database may be gone: the misses of this last interval are lost, nothing else
        log.exception("unmatched inbox: the last buffered misses could not be stored")
    await services.close()


def build_app(settings: Settings, content: Content | None, clock: Clock, gate: Gate = PUBLISH_GATE
              ) -> web.Application:
    """Wire every dependency; nothing is created at import time. `content` None loads intents/; tests pass
    preloaded content and a clock they move. `gate`: what a content version must pass to be published."""
    services = bootstrap(settings, content=content, clock=clock, gate=gate)
    app = web.Application(middlewares=[ops.request_middleware(services.metrics),
                                       problems_middleware(logging.getLogger("zhengwu"))], client_max_size=64 * 1024)
    table = api_routes(services)
    for route in [*table, *OpenApiHandler(table).routes()]:
        app.router.add_route(route.method, route.path, route.handler)
    app.router.add_static("/static/", pages.STATIC)
    app.router.add_static("/staff/", console.STAFF_STATIC)
    app.on_response_prepare.append(add_security_headers)  # static files too, not only the app's own pages
    app[SERVICES] = services
    app[DISPATCHER], app[FEEDBACK], app[PAYMENTS] = services.dispatcher, services.feedback, services.payments
    if services.wechat is not None:
        app[CUSTOMER_SERVICE] = services.wechat.customer_service
    app.cleanup_ctx.append(partial(_lifecycle, services))
    return app


def http_options(settings: Settings) -> dict[str, Any]:
    """aiohttp server options: idle and slow-header connections closed after the keep-alive timeout (aiohttp
    starts it when the connection opens and closes one that has not sent a whole request by then); a body left
    unread after the answer (a refused or cut upload) drained for at most 2 s before the connection closes; an
    access log without signatures, nonces or user ids."""
    return {"keepalive_timeout": settings.http.keepalive_seconds, "lingering_time": 2.0,
            "access_log_class": RedactingAccessLogger}


def refuse_unsafe_production(settings: Settings) -> None:
    """Exit (status 1, each offending setting named on stderr) when a production profile has development settings."""
    if problems := production_problems(settings):
        sys.exit("refusing to start with environment: production:\n" + "\n".join(f"  - {p}" for p in problems))


def main() -> None:
    settings = load_settings()
    refuse_unsafe_production(settings)
    configure_logging(settings.log_level, settings.effective_log_format())
    jieba.setLogLevel(logging.WARNING)

    async def serve() -> web.Application:  # built inside the running loop: HTTP clients need one
        app = build_app(settings, None, utc_now)
        # Catalog, matcher and dictionaries are ~250k objects that live as long as the process. Out of the
        # cyclic collector's sight, its full passes no longer take ~50 ms each (they set the chat's p99).
        gc.freeze()
        # A turn allocates a few hundred objects that die with it: collecting the youngest generation every
        # 50,000 allocations instead of 700 leaves them to reference counting (+10% chat turns/s, measured).
        gc.set_threshold(50_000)
        return app

    web.run_app(serve(), host=settings.host, port=settings.port, **http_options(settings))


if __name__ == "__main__":
    main()
