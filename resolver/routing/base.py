"""What one routing decision works with: one health snapshot, the time, the random source,
the weighted-round-robin state, and an optional trace (only ``explain`` asks for one).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from resolver.health.model import HealthSnapshot
from resolver.routing.eligibility import Slot
from resolver.routing.weighted import SmoothWRR


@dataclass(slots=True)
class Ctx:
    snap: HealthSnapshot
    now: float
    rng: random.Random
    wrr: SmoothWRR
    slots: Mapping[str, tuple[Slot, ...]]  # pool id -> compiled members
    down: frozenset[str] = frozenset()
    trace: list[str] | None = None
    # pool id -> (snapshot, verdicts, eligible): the router's memo of verdicts that depend
    # on nothing but the snapshot (no expiring override or push among the pool's members).
    memo: dict[str, tuple[object, list, list]] | None = None

    def note(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append(text)


class Outcome(NamedTuple):
    """What a record answers: values (None: NODATA), or an rcode (SERVFAIL)."""

    values: tuple[str, ...] | None
    rcode: int = 0
    pool: str | None = None
