"""The read model of pools for operators (``GET /pools``, ``GET /replicas``, ``explain``).

Plain frozen dataclasses; ``asdict`` turns them into JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from resolver.health.model import HealthSnapshot, Target, TargetState
from resolver.routing.eligibility import candidates, compile_pool
from resolver.routing.spec import Pool


@dataclass(frozen=True, slots=True)
class MemberView:
    value: str
    weight: int
    status: str  # from the file: up | down | obey
    admin_state: str  # auto | up | down | drain
    admin_until: float | None
    health: str  # up | down | unknown | not checked
    reason: str
    since: float | None
    last_check: float | None
    rtt_ms: float | None
    check: str | None  # the probe, e.g. http://127.0.0.21:8080/health
    role: str | None
    lag_seconds: float | None
    lag_ok: bool | None
    replica_reason: str | None
    replica_source: str | None
    replica_expires: float | None
    eligible: bool
    why: str


@dataclass(frozen=True, slots=True)
class PoolView:
    id: str
    name: str
    mode: str
    replication_role: str | None
    members: tuple[MemberView, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pool_view(pool: Pool, snap: HealthSnapshot, targets: Mapping[Target, TargetState],
              now: float) -> PoolView:
    slots = compile_pool(pool)
    verdicts = candidates(pool, slots, snap, now)
    members = []
    for slot, verdict in zip(slots, verdicts, strict=True):
        value = slot.member.value
        state = targets.get(slot.health) if slot.health is not None else None
        override = snap.overrides.get((pool.id, value))
        if override is not None and not override.active(now):
            override = None
        replica = snap.replicas.get((pool.id, value))
        members.append(MemberView(
            value=value, weight=slot.member.weight, status=slot.member.status,
            admin_state=override.state if override else "auto",
            admin_until=override.until if override else None,
            health=_health(slot.health, state), reason=state.reason if state else "",
            since=state.since if state else None,
            last_check=state.last_check if state else None,
            rtt_ms=round(state.rtt * 1000, 3) if state and state.rtt is not None else None,
            check=slot.health.label() if slot.health else None,
            role=replica.role if replica else None,
            lag_seconds=replica.lag if replica else None,
            lag_ok=replica.lag_ok if replica else None,
            replica_reason=replica.reason if replica else None,
            replica_source=replica.source if replica else None,
            replica_expires=replica.expires if replica else None,
            eligible=verdict.ok, why=verdict.reason,
        ))
    role = pool.replication.role if pool.replication else None
    return PoolView(pool.id, pool.name, pool.mode, role, tuple(members))


def _health(target: Target | None, state: TargetState | None) -> str:
    if target is None:
        return "not checked"
    if state is None or state.up is None:
        return "unknown"
    return "up" if state.up else "down"
