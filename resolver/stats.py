"""Plain counters for the hot paths, read by ``/metrics`` at scrape time.

The query path only increments ints and dict entries (no locks: one event loop per process);
:func:`read_counters` copies them into a frozen :class:`Counters` (once a second with several
workers, see ``countershare.py``; at scrape time otherwise), and :mod:`resolver.admin.metrics`
turns that into Prometheus families.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Seconds: from a loopback answer to a slow far upstream or a check that times out.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0)


def _cumulative(bounds: Sequence[float], counts: Sequence[int]) -> list[tuple[str, int]]:
    out, running = [], 0
    for bound, count in zip((*bounds, float("inf")), counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return out


class Histogram:
    """Observations counted into fixed buckets (upper bounds, ``+Inf`` implied)."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus wants them, ``+Inf`` last."""
        return _cumulative(self.bounds, self.counts)


@dataclass(frozen=True)
class HistogramCounts:
    """A copy of a :class:`Histogram` at one moment; copies from several processes add up."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: tuple[int, ...] = (0,) * (len(LATENCY_BUCKETS) + 1)
    sum: float = 0.0
    count: int = 0

    @classmethod
    def of(cls, histogram: Histogram | None) -> HistogramCounts:
        if histogram is None:
            return cls()
        return cls(histogram.bounds, tuple(histogram.counts), histogram.sum, histogram.count)

    def __add__(self, other: HistogramCounts) -> HistogramCounts:
        if other.bounds != self.bounds:  # another version's buckets: cannot be merged
            return self if self.count >= other.count else other
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        return HistogramCounts(self.bounds, counts, self.sum + other.sum,
                               self.count + other.count)

    def cumulative(self) -> list[tuple[str, int]]:
        return _cumulative(self.bounds, self.counts)


QueryKey = tuple[int, int, str]  # (qtype, rcode, stage)


@dataclass(frozen=True)
class Counters:
    """Every counter one process keeps, copied at one moment; ``a + b`` adds two processes'."""

    queries: Mapping[QueryKey, int] = field(default_factory=dict)
    fastpath_hits: int = 0
    fastpath_misses: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    upstream_latency: HistogramCounts = HistogramCounts()
    check_durations: HistogramCounts = HistogramCounts()

    def __add__(self, other: Counters) -> Counters:
        queries = Counter(self.queries)
        queries.update(other.queries)
        return Counters(
            dict(queries),
            self.fastpath_hits + other.fastpath_hits,
            self.fastpath_misses + other.fastpath_misses,
            self.cache_hits + other.cache_hits,
            self.cache_misses + other.cache_misses,
            self.upstream_latency + other.upstream_latency,
            self.check_durations + other.check_durations,
        )


def read_counters(server: Any) -> Counters:
    """This process's counters, from wherever the server's parts keep them (a part that is
    not there, such as recursion when it is off, counts zero)."""
    udp_hits = sum(listener.fast_hits for listener in getattr(server, "udp", ()))
    table = getattr(server, "table", None)
    recursion = next((s for s in getattr(server, "stages", ())
                      if getattr(s, "name", "") == "recursion"), None)
    scheduler = getattr(getattr(server, "routing", None), "scheduler", None)
    return Counters(
        dict(getattr(getattr(server, "handler", None), "counts", {})),  # a copy: it pickles
        getattr(table, "hits", 0) + udp_hits,
        getattr(table, "misses", 0),
        getattr(recursion, "hits", 0),
        getattr(recursion, "misses", 0),
        HistogramCounts.of(getattr(getattr(recursion, "upstream", None), "latency", None)),
        HistogramCounts.of(getattr(scheduler, "durations", None)),
    )

