"""Weighted choice: smooth weighted round robin (nginx's algorithm) and weighted random.

Smooth WRR gives each value exactly ``weight`` answers in every run of ``sum(weights)``
answers, interleaved rather than in bursts. Its state is per pool and starts over when the
set of eligible values changes (so a value coming back does not get a burst of answers).
Weight 0 marks a standby (Route 53): used only when no value with a weight is eligible.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from resolver.routing.spec import Member


def active(members: Sequence[Member]) -> tuple[list[Member], bool]:
    """The members to choose among and whether they are standbys (weight 0 treated as 1)."""
    weighted = [m for m in members if m.weight > 0]
    return (weighted, False) if weighted else (list(members), True)


def signature(members: Sequence[Member], standby: bool) -> tuple[object, ...]:
    """Names an eligible set cheaply: members are the policy's own objects, so their ids."""
    return (standby, *map(id, members))


class SmoothWRR:
    """Per-pool smooth weighted round robin. Not thread-safe: one event loop owns it."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[tuple[object, ...], list[int], list[int], int]] = {}

    def pick(self, pool_id: str, members: Sequence[Member], standby: bool = False) -> Member:
        return self.pick_signed(pool_id, signature(members, standby), members, standby)

    def pick_signed(self, pool_id: str, signature: tuple[object, ...],
                    members: Sequence[Member], standby: bool = False) -> Member:
        """As :meth:`pick`, with ``signature(members, standby)`` computed by the caller."""
        saved = self._state.get(pool_id)
        if saved is None or saved[0] != signature:
            weights = [1 if standby else m.weight for m in members]
            saved = (signature, [0] * len(weights), weights, sum(weights))
            self._state[pool_id] = saved
        _, current, weights, total = saved
        best = 0
        for index, weight in enumerate(weights):
            current[index] += weight
            if current[index] > current[best]:
                best = index
        current[best] -= total
        return members[best]

    def reset(self) -> None:
        self._state.clear()


def pick_random(members: Sequence[Member], rng: random.Random, standby: bool = False) -> Member:
    weights = [1 if standby else m.weight for m in members]
    return rng.choices(list(members), weights=weights, k=1)[0]
