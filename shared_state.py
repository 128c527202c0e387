"""What the app's instances share, built from the settings (bootstrap.build_stores uses it): in Redis when
ZWB_REDIS_URL is set, else in process memory and the database (one instance)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis, RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.token_cache import TokenCache
from providers.wechat.tokens import MemoryTokenCache
from storage.access_tokens import RedisTokenCache
from storage.cipher import FieldCipher
from storage.dedupe import MemoryDedupe, RedisDedupe
from storage.rate_limits import RateLimit
from storage.redis_clients import connect_redis
from storage.redis_scripts import ScriptRunner
from storage.redis_sessions import RedisSessionStore, SessionKeys
from storage.sql_sessions import SqlSessionStore
from storage.wakeups import MemoryWakeups, RedisWakeups

DEDUPE_SECONDS = 24 * 3600  # WeChat retries a callback within seconds; a day is plenty


@dataclass(frozen=True)
class SharedState:
    """What every instance must share: in Redis when ZWB_REDIS_URL is set (any number of instances, one
    client), else in process memory and the database (one instance; conversations in the database)."""

    sessions: SqlSessionStore | RedisSessionStore  # they also apply the per-user rate limit
    dedupe: MemoryDedupe | RedisDedupe
    token_cache: TokenCache
    wakeups: MemoryWakeups
    content_wakeups: MemoryWakeups  # a content version was published: every instance checks the live pointer
    logout_wakeups: MemoryWakeups  # a session token was revoked: every instance reloads the revoked ones
    local_sessions: SqlSessionStore | None = None  # set when conversations live in the database: housekeeping purges
    redis: Redis | RedisCluster | None = None
    scripts: ScriptRunner | None = None  # the conversations' script runner, also for the read and upload limits

    async def close(self) -> None:
        await self.wakeups.close()
        await self.content_wakeups.close()
        await self.logout_wakeups.close()
        await self.sessions.close()
        if self.redis is not None:
            await self.redis.aclose()


def shared_in_redis(settings: Settings, cipher: FieldCipher) -> SharedState:
    """Any number of instances: Redis holds conversations, dedupe keys, WeChat tokens and the wake-ups."""
    rate, prefix = RateLimit(settings.rate_limit.messages, settings.rate_limit.per_seconds), settings.redis_prefix
    redis = connect_redis(settings.redis_url, settings.redis_client)
    sessions = RedisSessionStore(redis.scripts, cipher, settings.session_idle_seconds, SessionKeys(prefix),
                                 rate=rate, read_legacy_keys=settings.redis_read_legacy_keys)
    return SharedState(sessions, RedisDedupe(redis.general, prefix, DEDUPE_SECONDS),
                       RedisTokenCache(redis.general, f"{prefix}:wechat"),
                       RedisWakeups(redis.general, prefix, logging.getLogger("zhengwu.wakeups")),
                       RedisWakeups(redis.general, prefix, logging.getLogger("zhengwu.wakeups"), channel="content"),
                       RedisWakeups(redis.general, prefix, logging.getLogger("zhengwu.wakeups"), channel="logout"),
                       redis=redis.general, scripts=redis.scripts)


def shared_in_process(settings: Settings, db: AsyncEngine, cipher: FieldCipher) -> SharedState:
    """One instance: conversations in the database (a restart keeps drafts), the rest in process memory."""
    sessions = SqlSessionStore(db, cipher, settings.session_idle_seconds,
                               rate=RateLimit(settings.rate_limit.messages, settings.rate_limit.per_seconds))
    return SharedState(sessions, MemoryDedupe(DEDUPE_SECONDS), MemoryTokenCache(), MemoryWakeups(), MemoryWakeups(),
                       MemoryWakeups(), local_sessions=sessions)
