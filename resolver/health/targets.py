"""Which targets a policy's pools need probed. Pure: specs in, :class:`Target` keys out.

Fields a kind does not use are left at their defaults, so two pools that probe the same
address the same way share one target (one check however many names use it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from resolver.health.model import MemberKey, Target
from resolver.routing.spec import Member, Pool


def is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def health_target(pool: Pool, member: Member) -> Target | None:
    """The health probe of one member, or None (``status: up|down``, no check, or no address)."""
    check = pool.healthcheck
    if check is None or member.status != "obey" or not is_address(member.value):
        return None
    kind = check.protocol.lower()
    if kind in ("http", "https"):
        return Target(kind, member.value, check.port, check.path, check.host,
                      check.expect_status, check.expect_body, timing=check.timing)
    if kind == "dns":
        return Target(kind, member.value, check.port, query_name=check.query_name or ".",
                      query_type=check.query_type, timing=check.timing)
    return Target(kind, member.value, check.port, timing=check.timing)


def replica_target(pool: Pool, member: Member) -> Target | None:
    """The replica-status poll of one member (None for pushed-only pools)."""
    repl = pool.replication
    if repl is None or repl.source == "push" or not is_address(member.value):
        return None
    return Target(repl.source, member.value, repl.port, repl.path, timing=repl.timing)


def targets_of(pools: Iterable[Pool]) -> dict[Target, list[MemberKey]]:
    """Every target to probe, with the pool members that depend on it."""
    out: dict[Target, list[MemberKey]] = {}
    for pool in pools:
        for member in pool.members:
            for target in (health_target(pool, member), replica_target(pool, member)):
                if target is not None:
                    out.setdefault(target, []).append((pool.id, member.value))
    return out


def member_targets(pools: Mapping[str, Pool]) -> dict[MemberKey, tuple[Target | None,
                                                                         Target | None]]:
    """(health target, replica target) of every member of every pool."""
    return {
        (pool.id, m.value): (health_target(pool, m), replica_target(pool, m))
        for pool in pools.values() for m in pool.members
    }
