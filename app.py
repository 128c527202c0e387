"""The web app: bootstrap's services -> each handler module's routes -> aiohttp. `python app.py` serves."""
from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from functools import partial

import jieba
from aiohttp import web

from bootstrap import Services, bootstrap, load_settings
from bot.clock import Clock, utc_now
from bot.config import Settings, production_problems
from bot.content import Content
from bot.customer_service import CustomerService
from bot.feedback import Feedback
from bot.outbox.dispatcher import Dispatcher
from bot.payments.service import Payments
from handlers import auth, cases, chat, feedback, handoffs, live, pages, payments, staff, subscriptions, wechat
from handlers.auth import RequestAuth
from handlers.openapi import OpenApiHandler
from handlers.problems import problems_middleware
from handlers.routes import Route
from handlers.staff_auth import StaffRoutes
from jobs import dispatch_progress, housekeeping, housekeeping_jobs
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
    guard = StaffRoutes(s.stores.staff)
    table = [
        *chat.routes(chat.ChatHandlers(s.engine, s.content, settings.uploads.max_bytes, request_auth)),
        *cases.routes(cases.CaseHandlers(s.stores.cases, s.stores.inbox, s.payments, s.clock, request_auth,
                                         s.content, read_limiter(RateLimit(settings.rate_limit.messages,
                                                                           settings.rate_limit.per_seconds),
                                                                 s.stores.shared.redis, settings.redis_prefix))),
        *staff.routes(staff.StaffHandlers(s.stores.outbox, s.review, s.stores.notices), guard),
        *feedback.routes(feedback.FeedbackHandlers(s.feedback), guard),
        *payments.routes(payments.PaymentHandlers(s.payments, s.review, s.sandbox, request_auth), guard),
        *pages.routes(pages.PageHandlers(s.stores.db)),
        *handoffs.routes(handoffs.HandoffHandlers(
            s.handoffs, s.engine, s.content, s.live, s.stores.staff,
            read_limiter(RateLimit(settings.rate_limit.messages, settings.rate_limit.per_seconds),
                         s.stores.shared.redis, f"{settings.redis_prefix}:staff")), guard),
        *live.routes(live.LiveHandlers(s.live, s.presence, s.logins, settings.require_login, s.stores.staff,
                                       settings.handoff.allowed_origins)),
    ]
    if (w := s.wechat) is not None:
        table += [*wechat.routes(wechat.WeChatHandlers(w.decoder, w.customer_service)),
                  *auth.routes(auth.AuthHandlers(w.accounts, s.logins, request_auth)),
                  *subscriptions.routes(subscriptions.SubscriptionHandlers(w.subscriptions, request_auth))]
    return table


async def _lifecycle(services: Services, app: web.Application) -> AsyncIterator[None]:
    """Migrate, run the background jobs while serving, then stop them and close everything in order."""
    settings, stores, log = services.settings, services.stores, logging.getLogger("zhengwu")
    await upgrade(stores.db)
    catalog = services.content.current.catalog
    log.info("serving %d items, %d bundles; database %s; sessions in %s", len(catalog.items), len(catalog.bundles),
             stores.db.url.render_as_string(hide_password=True), "redis" if settings.redis_url else "memory")
    background = [asyncio.create_task(housekeeping(housekeeping_jobs(services))),
                  asyncio.create_task(dispatch_progress(services.dispatcher, stores.shared.wakeups,
                                                        settings.dispatch_interval_seconds))]
    yield
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)  # let them leave the database before it closes
    await services.close()


def build_app(settings: Settings, content: Content | None, clock: Clock) -> web.Application:
    """Wire every dependency; nothing is created at import time. `content` None loads intents/; tests pass
    preloaded content and a clock they move."""
    services = bootstrap(settings, content=content, clock=clock)
    app = web.Application(middlewares=[problems_middleware(logging.getLogger("zhengwu"))], client_max_size=64 * 1024)
    table = api_routes(services)
    for route in [*table, *OpenApiHandler(table).routes()]:
        app.router.add_route(route.method, route.path, route.handler)
    app.router.add_static("/static/", pages.STATIC)
    app[SERVICES] = services
    app[DISPATCHER], app[FEEDBACK], app[PAYMENTS] = services.dispatcher, services.feedback, services.payments
    if services.wechat is not None:
        app[CUSTOMER_SERVICE] = services.wechat.customer_service
    app.cleanup_ctx.append(partial(_lifecycle, services))
    return app


def refuse_unsafe_production(settings: Settings) -> None:
    """Exit (status 1, each offending setting named on stderr) when a production profile has development settings."""
    if problems := production_problems(settings):
        sys.exit("refusing to start with environment: production:\n" + "\n".join(f"  - {p}" for p in problems))


def main() -> None:
    settings = load_settings()
    refuse_unsafe_production(settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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

    web.run_app(serve(), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
