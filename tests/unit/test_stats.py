"""The plain histogram behind the latency metrics."""

from __future__ import annotations

from resolver.stats import Counters, Histogram, HistogramCounts


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.count == 4 and abs(histogram.sum - 3.65) < 1e-9


def test_counters_of_two_processes_add_up() -> None:
    one, two = Histogram((0.1, 1.0)), Histogram((0.1, 1.0))
    one.observe(0.05)
    two.observe(0.5)
    a = Counters({(1, 0, "authority"): 2}, fastpath_hits=3,
                 upstream_latency=HistogramCounts.of(one))
    b = Counters({(1, 0, "authority"): 1, (28, 3, "authority"): 1}, fastpath_hits=4,
                 cache_misses=1, upstream_latency=HistogramCounts.of(two))
    total = a + b
    assert total.queries == {(1, 0, "authority"): 3, (28, 3, "authority"): 1}
    assert (total.fastpath_hits, total.cache_misses) == (7, 1)
    assert total.upstream_latency.cumulative() == [("0.1", 1), ("1.0", 2), ("+Inf", 2)]
    assert (Counters() + Counters()).upstream_latency == HistogramCounts()
