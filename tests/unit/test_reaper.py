"""The reaper takes retired data apart in batches, and never touches what is still in use."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import pytest

from resolver import reaper


class Leaf:
    """Something freed with the structure; its finalizer says when."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value: int) -> None:
        self.value = value


@dataclass(frozen=True, slots=True)
class Holder:  # as a Zone or a Snapshot: frozen, slots, big containers inside
    nodes: dict[int, dict[int, Leaf]]
    names: frozenset[Leaf]
    pairs: tuple[tuple[int, Leaf], ...]


def watched(count: int, freed: list[int]) -> list[Leaf]:
    leaves = [Leaf(i) for i in range(count)]
    for leaf in leaves:
        weakref.finalize(leaf, freed.append, leaf.value)
    return leaves


def big_holder(freed: list[int], count: int = 3 * reaper.BATCH) -> Holder:
    leaves = watched(3 * count, freed)
    return Holder(
        nodes={i: {1: leaf} for i, leaf in enumerate(leaves[:count])},
        names=frozenset(leaves[count: 2 * count]),
        pairs=tuple(enumerate(leaves[2 * count:])),
    )


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each pause of the reaper (no real sleep)."""
    calls: list[float] = []
    monkeypatch.setattr(reaper.time, "sleep", calls.append)
    return calls


def test_a_retired_structure_is_freed_batch_by_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    freed: list[int] = []
    freed_at_pause: list[int] = []
    monkeypatch.setattr(reaper.time, "sleep", lambda _s: freed_at_pause.append(len(freed)))
    count = 3 * reaper.BATCH
    held = reaper.release([big_holder(freed, count), None, 42], pause=0.001)
    assert held == []
    assert sorted(freed) == list(range(3 * count))  # everything, nothing leaked
    # Freed along the way, never more than a batch between two pauses.
    marks = [0, *freed_at_pause, len(freed)]
    steps = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    assert len(steps) > 9 and max(steps) <= reaper.BATCH


def test_what_is_still_used_elsewhere_is_left_intact(pauses: list[float]) -> None:
    freed: list[int] = []
    live = {i: leaf for i, leaf in enumerate(watched(2 * reaper.BIG, freed))}
    shared_zone = Holder({0: {1: Leaf(0)}}, frozenset(), ())
    retired_only = watched(reaper.BIG, freed)
    retired = [{"store": {"live": live, "zone": shared_zone}}, {"mine": retired_only}]
    del retired_only
    assert reaper.release(retired) == []
    assert len(live) == 2 * reaper.BIG  # still whole: the live side holds it
    assert shared_zone.nodes == {0: {1: shared_zone.nodes[0][1]}}
    assert sorted(freed) == list(range(reaper.BIG))  # only what the retired side held


def test_a_root_held_elsewhere_is_kept_for_later(pauses: list[float]) -> None:
    freed: list[int] = []
    in_flight = big_holder(freed)  # a query still reads the old snapshot
    held = reaper.release([in_flight])
    assert held == [in_flight] and len(in_flight.nodes) == 3 * reaper.BATCH
    assert freed == []
    del in_flight  # the query is done: now only the reaper's list holds it
    assert reaper.release(held) == []
    assert len(freed) == 9 * reaper.BATCH


def test_weakly_referenced_containers_are_not_taken_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    size = 3 * reaper.BATCH
    retired = [[{Leaf(i) for i in range(size)}, *[Leaf(0)] * 2 * reaper.BATCH]]
    ref = weakref.ref(retired[0][0])  # reachable through a weak reference: not ours
    seen: list[int] = []

    def look(_seconds: float) -> None:  # what the holder of the weak reference sees
        alive = ref()
        seen.append(-1 if alive is None else len(alive))

    monkeypatch.setattr(reaper.time, "sleep", look)
    reaper.release(retired)
    assert ref() is None  # freed, whole
    assert seen and set(seen) <= {size, -1}


def test_finalizers_keep_their_objects_whole(pauses: list[float]) -> None:
    emptied: list[bool] = []

    class Closing:
        def __init__(self) -> None:
            self.parts = list(range(reaper.BIG))

        def __del__(self) -> None:
            emptied.append(len(self.parts) != reaper.BIG)

    reaper.release([{"closing": Closing()}])
    assert emptied == [False]


def test_release_later_frees_in_the_thread() -> None:
    freed: list[int] = []
    done = threading.Event()
    holder = big_holder(freed, count=reaper.BIG)
    weakref.finalize(holder.nodes[0][1], done.set)
    reaper.release_later([holder])
    del holder
    assert done.wait(10)
    deadline = time.monotonic() + 10
    while len(freed) < 3 * reaper.BIG and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(freed) == 3 * reaper.BIG
