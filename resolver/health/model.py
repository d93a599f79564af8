"""Frozen health facts shared by monitors, the board, the router and the admin API.

A :class:`Target` is one thing probed one way (``http://127.0.0.21:8080/health``); however many
names or pools use it, it is probed once. Monitors return a :class:`ProbeResult`; the board
turns results into :class:`TargetState` and :class:`ReplicaState` (hysteresis, RTT average)
and publishes a :class:`HealthSnapshot` that queries read without locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from resolver.routing.spec import Timing

MemberKey = tuple[str, str]  # (pool id, value)
ADMIN_STATES = ("up", "down", "drain", "auto")
EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # http | https | tcp | dns | patroni | json
    address: str
    port: int
    path: str = ""
    host: str | None = None
    expect_status: tuple[int, ...] = (200,)
    expect_body: str | None = None
    query_name: str | None = None
    query_type: str = "A"
    timing: Timing = Timing()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up in the snapshot for every member on every routed query: hash once.
        object.__setattr__(self, "_hash", hash((self.kind, self.address, self.port, self.path,
                                                self.host, self.timing)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def replica(self) -> bool:
        return self.kind in ("patroni", "json")

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.address, self.port

    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.kind}://{host}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One raw observation. ``role``/``lag``/``position``/``replayed_at`` for replica kinds."""

    ok: bool
    reason: str
    rtt: float | None = None
    role: str | None = None
    lag: float | None = None
    position: int | None = None
    replayed_at: float | None = None


@dataclass(frozen=True, slots=True)
class TargetState:
    up: bool | None  # None: no result yet
    reason: str = "not checked yet"
    since: float = 0.0
    last_check: float | None = None
    rtt: float | None = None  # EWMA of successful probes' round-trip time, seconds
    ok_streak: int = 0
    fail_streak: int = 0
    last: ProbeResult | None = None


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """A member's replication facts for one pool, after lag hysteresis."""

    role: str | None  # primary | replica | None (unknown)
    lag: float | None
    lag_ok: bool
    reason: str
    since: float
    updated: float
    source: str  # poll | push
    expires: float | None = None  # pushes expire; polls are refreshed

    def current(self, now: float) -> bool:
        return self.expires is None or now < self.expires


@dataclass(frozen=True, slots=True)
class Override:
    state: str  # up | down | drain
    until: float | None = None
    set_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    generation: int = 0
    targets: Mapping[Target, TargetState] = field(default_factory=lambda: EMPTY)
    replicas: Mapping[MemberKey, ReplicaState] = field(default_factory=lambda: EMPTY)
    overrides: Mapping[MemberKey, Override] = field(default_factory=lambda: EMPTY)
