"""What a Prometheus scrape reads from the tallies the chat path moves (requests, turn time, matcher decisions)."""
from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from observability.metrics import Metrics


def scraped(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = asyncio.run(metrics.render()).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_turn_times_fall_in_cumulative_buckets_whose_bound_is_inclusive() -> None:
    metrics = Metrics(CollectorRegistry())
    for seconds in (0.001, 0.005, 0.0051, 0.3, 99.0):
        metrics.turn_took(seconds)
    seen = scraped(metrics)

    def bucket(le: str) -> float:
        return seen[("zwb_chat_turn_seconds_bucket", (("le", le),))]

    assert (bucket("0.005"), bucket("0.01"), bucket("0.25"), bucket("0.5"), bucket("10.0"), bucket("+Inf")) == \
        (2, 3, 3, 4, 4, 5)
    assert seen[("zwb_chat_turn_seconds_count", ())] == 5
    assert abs(seen[("zwb_chat_turn_seconds_sum", ())] - 99.3111) < 1e-9


def test_requests_and_decisions_are_counted_by_label_and_every_decision_shows_from_zero() -> None:
    metrics = Metrics(CollectorRegistry())
    assert {labels: v for (name, labels), v in scraped(metrics).items() if name == "zwb_matcher_decisions_total"} \
        == {(("decision", "match"),): 0, (("decision", "clarify"),): 0, (("decision", "none"),): 0}
    for status in ("200", "200", "429"):
        metrics.request_done("/api/v1/chat/messages", "POST", status)
    metrics.matched("match")
    seen = scraped(metrics)
    route = ("route", "/api/v1/chat/messages")
    assert seen[("zwb_http_requests_total", (("method", "POST"), route, ("status", "200")))] == 2
    assert seen[("zwb_http_requests_total", (("method", "POST"), route, ("status", "429")))] == 1
    assert seen[("zwb_matcher_decisions_total", (("decision", "match"),))] == 1
