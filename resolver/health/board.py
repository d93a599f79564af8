"""The one owner of health state: raw probe results in, a frozen snapshot out.

Monitors report through :meth:`HealthBoard.report`; the admin API calls
:meth:`set_override`, :meth:`push`, :meth:`pools_view`, :meth:`pool_view` and
:meth:`replicas_view`. Every change replaces :attr:`snapshot` whole (one reference swap), and the
router reads that attribute once per query. State changes are logged with their reason.

With several workers (``resolver/healthshare.py``) one board's state is copied into others:
:meth:`export_state` and :meth:`import_state` carry it as a :class:`BoardState`, and
:meth:`on_publish` tells the sender when there is something new to send.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from resolver.health import hysteresis as hy
from resolver.health.model import (
    ADMIN_STATES,
    HealthSnapshot,
    MemberKey,
    Override,
    ProbeResult,
    ReplicaState,
    Target,
    TargetState,
)
from resolver.health.targets import targets_of
from resolver.health.views import PoolView, pool_view
from resolver.routing.spec import Pool

log = logging.getLogger("resolver.health")


class BoardError(ValueError):
    """A bad admin request; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BoardState:
    """What one board knows, for another (another worker's) to adopt: target results with
    their hysteresis, replica roles and lags, pushed replica status, admin overrides. The
    tables are copies (plain dicts, so the state pickles), never the board's own."""

    targets: Mapping[Target, TargetState]
    replicas: Mapping[MemberKey, ReplicaState]
    pushed: Mapping[MemberKey, ReplicaState]
    overrides: Mapping[MemberKey, Override]


class HealthBoard:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.snapshot = HealthSnapshot()
        self._subscribers: list[Callable[[HealthSnapshot], None]] = []
        self._pools: dict[str, Pool] = {}
        self._users: dict[Target, list[MemberKey]] = {}
        self._targets: dict[Target, TargetState] = {}
        self._replicas: dict[MemberKey, ReplicaState] = {}
        self._pushed: dict[MemberKey, ReplicaState] = {}
        self._overrides: dict[MemberKey, Override] = {}
        self._replica_of: dict[MemberKey, Target] = {}

    # -- configuration --------------------------------------------------------------------
    def configure(self, pools: Mapping[str, Pool]) -> dict[Target, list[MemberKey]]:
        """Adopt the pools of a new policy set and return the targets to probe. State of
        targets and members still in use is kept; the rest is dropped."""
        self._pools = dict(pools)
        self._users = targets_of(self._pools.values())
        self._replica_of = {key: t for t, keys in self._users.items() if t.replica
                            for key in keys}
        members = {(p.id, m.value) for p in self._pools.values() for m in p.members}
        self._targets = {t: s for t, s in self._targets.items() if t in self._users}
        for target in self._users:
            self._targets.setdefault(target, TargetState(None, since=self.clock()))
        for table in (self._replicas, self._pushed, self._overrides):
            for key in [k for k in table if k not in members]:
                del table[key]
        self._publish()
        return dict(self._users)

    def ready(self) -> bool:
        """True once every target has had its first result."""
        return all(state.up is not None for state in self._targets.values())

    # -- monitors -------------------------------------------------------------------------
    def report(self, target: Target, result: ProbeResult, now: float | None = None) -> None:
        previous = self._targets.get(target)
        if previous is None:
            return  # a probe that finished after its target was removed
        now = self.clock() if now is None else now
        state = hy.next_target_state(previous, result, now, target.timing)
        self._targets[target] = state
        if state.up != previous.up:
            level = logging.INFO if state.up else logging.WARNING
            log.log(level, "health %s is %s: %s", target.label(), "up" if state.up else "down",
                    state.reason)
        if target.replica:
            for pool_id in {pool_id for pool_id, _ in self._users.get(target, ())}:
                self._refresh_pool(pool_id, now)
        self._publish()

    def _refresh_pool(self, pool_id: str, now: float) -> None:
        pool = self._pools.get(pool_id)
        if pool is None or pool.replication is None:
            return
        spec = pool.replication
        polled: dict[str, tuple[str | None, ProbeResult | None, str]] = {}
        for member in pool.members:
            target = self._replica_of.get((pool_id, member.value))
            state = self._targets.get(target) if target is not None else None
            if state is None or state.up is None:
                continue
            if state.up is False or state.last is None:
                polled[member.value] = (None, None, f"status unreachable: {state.reason}")
            else:
                polled[member.value] = (state.last.role, state.last, "")
        positions = [r.position for role, r, _ in polled.values()
                     if role == "primary" and r is not None and r.position is not None]
        for value, (role, result, reason) in polled.items():
            lag = None
            if result is not None and role == "replica":
                lag = hy.patroni_lag(result, positions, now) if spec.source == "patroni" \
                    else result.lag
            self._set_replica((pool_id, value), role, lag, now, "poll", reason)

    def _set_replica(self, key: MemberKey, role: str | None, lag: float | None, now: float,
                     source: str, reason: str = "", expires: float | None = None) -> None:
        pool = self._pools[key[0]]
        assert pool.replication is not None
        pushed = self._pushed.get(key)
        if source == "poll" and pushed is not None and pushed.current(now):
            return  # a current push wins over polling until it expires
        previous = self._replicas.get(key)
        state = hy.next_replica_state(previous, role, lag, pool.replication, now, source,
                                      reason, expires)
        self._replicas[key] = state
        if previous is None or (previous.role, previous.lag_ok) != (state.role, state.lag_ok):
            log.info("replica %s/%s: %s", key[0], key[1], state.reason)
        if source == "push":
            self._pushed[key] = state

    # -- admin ----------------------------------------------------------------------------
    def set_override(self, pool_id: str, value: str, state: str,
                     until: float | None = None) -> Override | None:
        """Force a member ``up``, ``down`` or ``drain`` (no new answers, still checked)
        until the epoch time ``until`` (None: until changed); ``auto`` removes the override.
        Raises :class:`BoardError` for an unknown pool, member or state."""
        self._member(pool_id, value)
        if state not in ADMIN_STATES:
            raise BoardError(f"admin_state must be one of {', '.join(ADMIN_STATES)}",
                             "admin_state")
        now = self.clock()
        if until is not None and until <= now:
            raise BoardError("'until' is in the past", "until")
        key = (pool_id, value)
        if state == "auto":
            self._overrides.pop(key, None)
            override = None
        else:
            override = Override(state, until, now)
            self._overrides[key] = override
        log.info("admin state of %s/%s: %s%s", pool_id, value, state,
                 f" until {until}" if until else "")
        self._publish()
        return override

    def push(self, pool_id: str, value: str, role: str, lag_seconds: float | None,
             ttl: float) -> ReplicaState:
        """A replica status pushed by an agent: ``role`` primary|replica, lag in seconds,
        valid for ``ttl`` seconds (then the member's status is unknown again, or polled)."""
        pool = self._member(pool_id, value)
        if pool.replication is None:
            raise BoardError(f"pool {pool_id} is not replica-aware", "pool")
        if role not in ("primary", "replica"):
            raise BoardError("role must be primary or replica", "role")
        if lag_seconds is not None and lag_seconds < 0:
            raise BoardError("lag_seconds must be >= 0", "lag_seconds")
        if ttl <= 0:
            raise BoardError("ttl must be more than 0", "ttl")
        now = self.clock()
        lag = lag_seconds if role == "replica" else 0.0
        self._set_replica((pool_id, value), role, lag, now, "push", expires=now + ttl)
        self._publish()
        return self._replicas[(pool_id, value)]

    def _member(self, pool_id: str, value: str) -> Pool:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise BoardError(f"no pool {pool_id}", "pool")
        if value not in {m.value for m in pool.members}:
            raise BoardError(f"{value} is not a member of pool {pool_id}", "value")
        return pool

    # -- read model -----------------------------------------------------------------------
    def pools_view(self, now: float | None = None) -> list[PoolView]:
        """Every pool: each member's health, reason, since, last check, RTT, role, lag,
        admin state, and whether it is eligible and why."""
        now = self.clock() if now is None else now
        return [pool_view(p, self.snapshot, self._targets, now) for p in self._pools.values()]

    def pool_view(self, pool_id: str, now: float | None = None) -> PoolView:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise BoardError(f"no pool {pool_id}", "pool")
        return pool_view(pool, self.snapshot, self._targets, self.clock() if now is None
                         else now)

    def replicas_view(self, now: float | None = None) -> list[PoolView]:
        """Only the replica-aware pools (``GET /replicas``)."""
        return [v for v in self.pools_view(now) if v.replication_role is not None]

    def pools(self) -> Mapping[str, Pool]:
        return MappingProxyType(self._pools)

    # -- sharing between workers ----------------------------------------------------------
    def export_state(self) -> BoardState:
        return BoardState(dict(self._targets), dict(self._replicas), dict(self._pushed),
                          dict(self._overrides))

    def import_state(self, state: BoardState) -> None:
        """Adopt another board's state for the targets and members this board's pools use
        (its own state stays for targets the other does not know yet), then publish."""
        members = {(p.id, m.value) for p in self._pools.values() for m in p.members}
        self._targets = {t: state.targets.get(t, s) for t, s in self._targets.items()}
        self._replicas = {k: v for k, v in state.replicas.items() if k in members}
        self._pushed = {k: v for k, v in state.pushed.items() if k in members}
        self._overrides = {k: v for k, v in state.overrides.items() if k in members}
        self._publish()

    def on_publish(self, callback: Callable[[HealthSnapshot], None]) -> None:
        """Call ``callback(snapshot)`` after every change (each one ends in a publish)."""
        self._subscribers.append(callback)

    def _publish(self) -> None:
        self.snapshot = HealthSnapshot(
            self.snapshot.generation + 1,
            MappingProxyType(dict(self._targets)),
            MappingProxyType(dict(self._replicas)),
            MappingProxyType(dict(self._overrides)),
        )
        for callback in self._subscribers:
            try:
                callback(self.snapshot)
            except Exception:  # a failing listener must not undo or block a health change
                log.exception("health subscriber failed")

