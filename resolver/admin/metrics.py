"""``GET /metrics``: Prometheus text, built at scrape time from plain counters.

Nothing on the query path talks to prometheus-client: the handler, the fast-path table, the
recursion stage and the health board keep ints and :class:`resolver.stats.Histogram` objects,
and :class:`ServerCollector` reads them when Prometheus asks (``server.counters()``: this
process's counters, or with ``--workers N`` the sum over every worker, the others' up to a
second old; the gauges below are worker 0's). Families:

- ``resolver_queries_total{type,rcode,stage}``: queries answered by the pipeline;
- ``resolver_fastpath_hits_total`` / ``_misses_total``: answers replayed from prebuilt wire
  bytes (those are not in ``resolver_queries_total``: add both for all queries);
- ``resolver_cache_hits_total`` / ``_misses_total``: the recursion cache;
- ``resolver_upstream_latency_seconds``: histogram of upstream exchanges;
- ``resolver_health_check_duration_seconds``: histogram of health probes;
- ``resolver_member_health{pool,member,health}``, ``resolver_member_eligible{pool,member}``,
  ``resolver_member_rtt_seconds``, ``resolver_replica_lag_seconds{pool,member,role}``;
- ``resolver_zone_serial{zone}``, ``resolver_zones``, ``resolver_snapshot_generation``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dns.rcode
import dns.rdatatype
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from resolver.admin.common import SERVER, Server
from resolver.authority.edit import serial_of
from resolver.stats import HistogramCounts, QueryKey

REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry")


class ServerCollector(Collector):
    def __init__(self, server: Server) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        server = self.server
        counters = server.counters()  # every worker's, with --workers N (countershare.py)
        yield _queries(counters.queries)
        yield _counter("resolver_fastpath_hits", "Answers replayed from the fast-path table.",
                       counters.fastpath_hits)
        yield _counter("resolver_fastpath_misses", "Fast-path lookups that found nothing.",
                       counters.fastpath_misses)
        yield _counter("resolver_cache_hits", "Recursive queries answered from the cache.",
                       counters.cache_hits)
        yield _counter("resolver_cache_misses", "Recursive queries that went upstream.",
                       counters.cache_misses)
        yield _histogram("resolver_upstream_latency_seconds",
                         "Round-trip time of exchanges with upstream servers.",
                         counters.upstream_latency)
        yield _histogram("resolver_health_check_duration_seconds",
                         "Duration of health probes.", counters.check_durations)
        yield from _pools(getattr(getattr(server, "routing", None), "board", None))
        yield from _zones(server)


def _counter(name: str, documentation: str, value: int) -> Metric:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def _queries(counts: Mapping[QueryKey, int]) -> Metric:
    family = CounterMetricFamily("resolver_queries", "Queries answered by the pipeline.",
                                 labels=["type", "rcode", "stage"])
    for (qtype, rcode, stage), value in sorted(counts.items()):
        family.add_metric([dns.rdatatype.to_text(qtype), dns.rcode.to_text(rcode),
                           stage or "none"], value)
    return family


def _histogram(name: str, documentation: str, histogram: HistogramCounts) -> Metric:
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], histogram.cumulative(), histogram.sum)
    return family


def _pools(board: Any) -> Iterator[Metric]:
    health = GaugeMetricFamily("resolver_member_health",
                               "1 for the member's current health state.",
                               labels=["pool", "member", "health"])
    eligible = GaugeMetricFamily("resolver_member_eligible",
                                 "1 when the member may be answered now.",
                                 labels=["pool", "member"])
    rtt = GaugeMetricFamily("resolver_member_rtt_seconds",
                            "Average round-trip time of the member's health checks.",
                            labels=["pool", "member"])
    lag = GaugeMetricFamily("resolver_replica_lag_seconds",
                            "Replication lag of a replica-aware pool's member.",
                            labels=["pool", "member", "role"])
    for pool in board.pools_view() if board is not None else ():
        for member in pool.members:
            health.add_metric([pool.id, member.value, member.health], 1)
            eligible.add_metric([pool.id, member.value], 1 if member.eligible else 0)
            if member.rtt_ms is not None:
                rtt.add_metric([pool.id, member.value], member.rtt_ms / 1000)
            if member.lag_seconds is not None:
                lag.add_metric([pool.id, member.value, member.role or "unknown"],
                               member.lag_seconds)
    yield from (health, eligible, rtt, lag)


def _zones(server: Server) -> Iterator[Metric]:
    zones = server.runtime.zone_data()
    serials = GaugeMetricFamily("resolver_zone_serial", "SOA serial of each zone served.",
                                labels=["zone"])
    for origin, data in sorted(zones.items()):
        serials.add_metric([origin.to_text()], serial_of(data))
    yield serials
    count = GaugeMetricFamily("resolver_zones", "Zones served.")
    count.add_metric([], len(zones))
    yield count
    generation = GaugeMetricFamily("resolver_snapshot_generation",
                                   "Snapshots swapped in since start.")
    generation.add_metric([], server.runtime.snapshot.generation)
    yield generation


def make_registry(server: Server) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(server))
    return registry


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application, base: str) -> None:
    app[REGISTRY] = make_registry(app[SERVER])
    app.router.add_get("/metrics", metrics)
