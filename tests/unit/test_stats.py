"""The plain histogram behind the latency metrics."""

from __future__ import annotations

from resolver.stats import Histogram


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.count == 4 and abs(histogram.sum - 3.65) < 1e-9
