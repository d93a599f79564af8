"""Is a pool member answerable now, and why (not)? Pure: specs + one snapshot + ``now``.

Order of authority, strongest first: a what-if ``down`` set (explain), an admin override
(up | down | drain, until it expires), the file's ``status: up|down``, the health check, and
for replica-aware pools the member's role and lag. ``role: primary`` pools fail closed: no
member is eligible unless exactly one member reports the primary role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from resolver.health.model import HealthSnapshot, Target
from resolver.health.targets import health_target, replica_target
from resolver.routing.spec import Member, Pool


@dataclass(frozen=True, slots=True)
class Slot:
    """A member with its probe targets, compiled once per policy load."""

    member: Member
    health: Target | None
    replica: Target | None


class Candidate(NamedTuple):
    """One member's verdict for one query (a tuple: built per member per query, cheaply)."""

    member: Member
    ok: bool
    reason: str
    rtt: float | None = None


def compile_pool(pool: Pool) -> tuple[Slot, ...]:
    return tuple(Slot(m, health_target(pool, m), replica_target(pool, m)) for m in pool.members)


def candidates(pool: Pool, slots: Iterable[Slot], snap: HealthSnapshot, now: float,
               down: frozenset[str] = frozenset()) -> list[Candidate]:
    out = [_base(pool, slot, snap, now, down) for slot in slots]
    repl = pool.replication
    if repl is None:
        return out
    roles: dict[str, tuple[str | None, str, bool]] = {}
    for cand in out:
        state = snap.replicas.get((pool.id, cand.member.value))
        if state is None:
            roles[cand.member.value] = (None, "no replica status yet", False)
        elif not state.current(now):
            roles[cand.member.value] = (None, "pushed status expired", False)
        else:
            roles[cand.member.value] = (state.role, state.reason, state.lag_ok)
    if repl.role == "primary":
        return _primary(out, roles)
    result = []
    for c in out:
        role, reason, lag_ok = roles[c.member.value]
        if not c.ok:
            result.append(c)
        else:
            result.append(Candidate(c.member, role == "replica" and lag_ok, reason, c.rtt))
    return result


def _primary(out: list[Candidate],
             roles: dict[str, tuple[str | None, str, bool]]) -> list[Candidate]:
    primaries = [value for value, info in roles.items() if info[0] == "primary"]
    if len(primaries) > 1:
        why = f"{len(primaries)} members claim primary ({', '.join(primaries)}): fail closed"
        return [Candidate(c.member, False, why, c.rtt) for c in out]
    result = []
    for c in out:
        role = roles[c.member.value][0]
        if not c.ok:
            result.append(c)
        elif role == "primary":
            result.append(Candidate(c.member, True, "role primary", c.rtt))
        elif not primaries:
            result.append(Candidate(c.member, False, f"no primary ({roles[c.member.value][1]})",
                                    c.rtt))
        else:
            result.append(Candidate(c.member, False, f"role {role or 'unknown'}", c.rtt))
    return result


def _base(pool: Pool, slot: Slot, snap: HealthSnapshot, now: float,
          down: frozenset[str]) -> Candidate:
    member = slot.member
    value = member.value
    state = snap.targets.get(slot.health) if slot.health is not None else None
    rtt = state.rtt if state is not None else None
    if down and (value in down or f"{pool.id}/{value}" in down):
        return Candidate(member, False, "what-if: down", rtt)
    override = snap.overrides.get((pool.id, value)) if snap.overrides else None
    if override is not None and override.active(now):
        if override.state == "up":
            return Candidate(member, True, "admin: up", rtt)
        return Candidate(member, False, f"admin: {override.state}", rtt)
    if member.status == "up":
        return Candidate(member, True, "status: up", rtt)
    if member.status == "down":
        return Candidate(member, False, "status: down", rtt)
    if slot.health is None:
        return Candidate(member, True, "not health checked", rtt)
    if state is None or state.up is None:
        return Candidate(member, True, "not checked yet", rtt)
    return Candidate(member, state.up, state.reason, rtt)
