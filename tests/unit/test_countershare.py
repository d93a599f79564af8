"""``/metrics`` with several workers: each worker's counters, added up, monotonic across a
worker's restart."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from resolver.countershare import CounterShare

A, NOERROR = 1, 0


def worker(queries: int, fast: int) -> SimpleNamespace:
    """The parts of a server that keep counters (the rest count zero)."""
    return SimpleNamespace(handler=SimpleNamespace(counts={(A, NOERROR, "authority"): queries}),
                           table=SimpleNamespace(hits=fast, misses=0))


async def test_the_sum_of_every_worker_and_of_earlier_runs(tmp_path: Path) -> None:
    first, second = worker(3, 10), worker(4, 20)
    leader = CounterShare(first, tmp_path, 0, 2)
    follower = CounterShare(second, tmp_path, 1, 2)
    assert leader.totals().fastpath_hits == 10  # worker 1 has not written yet
    follower.write()
    totals = leader.totals()
    assert (totals.queries, totals.fastpath_hits) == ({(A, NOERROR, "authority"): 7}, 30)

    follower.close()  # worker 1 is started again, from zero
    restarted = worker(0, 1)
    follower = CounterShare(restarted, tmp_path, 1, 2)
    assert follower.own().fastpath_hits == 21  # it goes on from its last run's count
    follower.write()
    assert leader.totals().fastpath_hits == 31
    follower.close()
    leader.close()


async def test_an_unreadable_copy_counts_zero(tmp_path: Path) -> None:
    (tmp_path / "counters-1.pickle").write_bytes(b"not a pickle")
    leader = CounterShare(worker(1, 1), tmp_path, 0, 2)
    assert leader.totals().fastpath_hits == 1
    leader.close()
