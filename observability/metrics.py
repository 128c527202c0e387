"""Prometheus metrics of one process, on a CollectorRegistry of its own (built in bootstrap, never the global
default registry). Counters move where things happen (request middleware, engine, HTTP client traces); what is
cheaper to ask than to track (outbox backlog, dead letters, WeChat API counters) is read when /metrics is scraped.

What moves on every request (requests, chat-turn time, matcher decisions) is tallied in plain dicts and lists
(`Tally`, `TimeTally`) and handed to the registry when it is scraped: prometheus-client's own Counter and
Histogram take a lock and check their arguments on each call, which was 3% of a chat turn's CPU. Everything
runs on the event loop's thread, so the tallies need no lock.
"""
from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from yarl import URL

TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ScrapeHook = Callable[[], Awaitable[None]]
log = logging.getLogger("zhengwu.metrics")


class Tally:
    """A counter by label values, exported as a Prometheus counter (`name`_total) when scraped."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...], registry: CollectorRegistry,
                 shown: Iterable[tuple[str, ...]] = ()) -> None:
        self._name, self._documentation, self._labels = name, documentation, list(labels)
        self.counts: dict[tuple[str, ...], int] = dict.fromkeys(shown, 0)  # `shown`: exported from 0
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labels)
        for values, count in list(self.counts.items()):
            family.add_metric(list(values), count)
        yield family


class TimeTally:
    """Durations counted into fixed buckets, exported as a Prometheus histogram when scraped."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...], registry: CollectorRegistry
                 ) -> None:
        self._name, self._documentation, self._bounds = name, documentation, buckets
        self._counts = [0] * (len(buckets) + 1)  # the last one: above every bound (+Inf)
        self._sum = 0.0
        registry.register(self)

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self._bounds, seconds)] += 1  # a bucket's bound is inclusive (le)
        self._sum += seconds

    def collect(self) -> Iterator[Metric]:
        cumulative, buckets = 0, []
        for bound, count in zip((*map(str, self._bounds), "+Inf"), self._counts):
            cumulative += count
            buckets.append((bound, cumulative))
        family = HistogramMetricFamily(self._name, self._documentation)
        family.add_metric([], buckets, self._sum)
        yield family


class Metrics:
    """Every metric the app exports; also the TurnObserver the dialogue engine reports to (bot/ports.py)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Tally("zwb_http_requests", "HTTP requests by route pattern, method and status",
                              ("route", "method", "status"), registry)
        self.turn_seconds = TimeTally("zwb_chat_turn_seconds", "Time to handle one chat message (any channel), "
                                      "lock and state included", TURN_BUCKETS, registry)
        self.matcher = Tally("zwb_matcher_decisions", "What the matcher decided for a citizen's free text",
                             ("decision",), registry, shown=[("match",), ("clarify",), ("none",)])
        self.outbox_backlog = Gauge("zwb_outbox_backlog", "Outbox events not yet dispatched (read at scrape time)",
                                    registry=registry)
        self.outbox_dead = Gauge("zwb_outbox_dead_letters", "Outbox deliveries given up (read at scrape time)",
                                 registry=registry)
        self.provider_requests = Counter("zwb_provider_requests", "HTTP requests to WeChat and WeChat Pay by "
                                         "outcome (2xx, 3xx, 4xx, 5xx, network)", ["provider", "outcome"],
                                         registry=registry)
        self.handoff_queue = Gauge("zwb_handoff_queue_length", "Chats waiting for a staff member, by department "
                                   "(set by the handoff queue)", ["department"], registry=registry)
        self._hooks: list[ScrapeHook] = []

    def request_done(self, route: str, method: str, status: str) -> None:
        counts, key = self.requests.counts, (route, method, status)
        counts[key] = counts.get(key, 0) + 1

    def matched(self, decision: str) -> None:
        counts, key = self.matcher.counts, (decision,)
        counts[key] = counts.get(key, 0) + 1

    def turn_took(self, seconds: float) -> None:
        self.turn_seconds.observe(seconds)

    def on_scrape(self, hook: ScrapeHook) -> None:
        """Run `hook` before each scrape (e.g. to set a gauge from a query)."""
        self._hooks.append(hook)

    async def render(self) -> bytes:
        """The Prometheus text exposition; a failing hook leaves its gauges at their last value (logged)."""
        for hook in self._hooks:
            try:
                await hook()
            except Exception as exc:  # the database may be down: the other metrics are still worth a scrape
                log.warning("metrics: %s failed: %s", getattr(hook, "__qualname__", hook), type(exc).__name__)
        return generate_latest(self.registry)


def outbox_hook(metrics: Metrics, backlog: Callable[[], Awaitable[tuple[int, int]]]) -> ScrapeHook:
    """Sets the outbox gauges from `backlog()` (SqlOutbox.backlog) at each scrape."""
    async def read_outbox() -> None:
        pending, dead = await backlog()
        metrics.outbox_backlog.set(pending)
        metrics.outbox_dead.set(dead)
    return read_outbox


class WeChatApiCollector:
    """The WeChat API client's own counters (providers/wechat/api.py), by API and errcode, at scrape time."""

    def __init__(self, counters: Callable[[], Mapping[str, Mapping[str, Any]]]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("zwb_wechat_api_calls", "WeChat server API calls by API", labels=["api"])
        errors = CounterMetricFamily("zwb_wechat_api_errors", "WeChat server API errors by API and errcode "
                                     "(network: unreachable)", labels=["api", "errcode"])
        for api, counts in self._counters().items():
            calls.add_metric([api], counts["calls"])
            for code, n in counts["errors"].items():
                errors.add_metric([api, code], n)
        yield calls
        yield errors


def provider_trace(metrics: Metrics, providers: Mapping[str, str]) -> aiohttp.TraceConfig:
    """Counts each request of an aiohttp client by provider (`providers` maps a host to its name; other hosts
    count as "other") and outcome."""
    trace = aiohttp.TraceConfig()

    def count(url: Any, outcome: str) -> None:
        metrics.provider_requests.labels(providers.get(url.host or "", "other"), outcome).inc()

    async def on_end(_: aiohttp.ClientSession, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        count(params.url, f"{params.response.status // 100}xx")

    async def on_error(_: aiohttp.ClientSession, __: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        count(params.url, "network")

    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_error)
    return trace


def provider_hosts(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{host: provider} from (base URL, provider name) pairs."""
    return {host: name for url, name in pairs if (host := URL(url).host)}
