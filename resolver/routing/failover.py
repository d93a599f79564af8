"""Pools in order, then their ``fallback`` chains, then ``on_all_down``.

``on_all_down``: ``values`` serves the record's own values (octoDNS); ``all`` fails open with
every value of the first pool (health ignored, at most ``max_answers``); ``nodata`` and
``servfail`` fail closed.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.rcode

from resolver.routing.base import Ctx, Outcome
from resolver.routing.eligibility import Candidate, candidates
from resolver.routing.registry import MODES
from resolver.routing.spec import Pool, RecordPolicy


def chain(policy: RecordPolicy, first: Sequence[str]) -> list[str]:
    """``first`` in order, then each one's fallback chain; every pool once."""
    order: list[str] = []
    for pool_id in first:
        if pool_id not in order:
            order.append(pool_id)
    for pool_id in list(order):
        nxt = policy.pools[pool_id].fallback
        while nxt is not None and nxt not in order and nxt in policy.pools:
            order.append(nxt)
            nxt = policy.pools[nxt].fallback
    return order


def answer(policy: RecordPolicy, first: Sequence[str], ctx: Ctx,
           order: Sequence[str] | None = None) -> Outcome:
    """The first pool in ``order`` (default: ``chain(policy, first)``) with an eligible
    member answers, by its mode; none: ``on_all_down``."""
    for step, pool_id in enumerate(order if order is not None else chain(policy, first)):
        pool = policy.pools[pool_id]
        verdicts, eligible = _verdicts(pool, ctx)
        if ctx.trace is not None:
            how = "pool" if step < len(first) else "fallback to pool"
            ctx.note(f"{how} {pool_id} (mode {pool.mode}): {len(eligible)} of "
                     f"{len(verdicts)} eligible")
            for c in verdicts:
                mark = "ok  " if c.ok else "skip"
                ctx.note(f"  {mark} {c.member.value} weight {c.member.weight}: {c.reason}")
        if eligible:
            return Outcome(MODES[pool.mode](pool, eligible, ctx), pool=pool_id)
    return all_down(policy, first, ctx)


def settled(policy: RecordPolicy, order: Sequence[str], ctx: Ctx
            ) -> tuple[Pool | None, list[Candidate]] | None:
    """The pool :func:`answer` would take among ``order`` and its eligible members (no pool:
    every one is down), when that depends on nothing but the snapshot; else None (some
    member's override or pushed status expires with the clock)."""
    for pool_id in order:
        if not _timeless(policy.pools[pool_id], ctx):
            return None
    for pool_id in order:
        pool = policy.pools[pool_id]
        eligible = _verdicts(pool, ctx)[1]
        if eligible:
            return pool, eligible
    return None, []


def _verdicts(pool: Pool, ctx: Ctx) -> tuple[list[Candidate], list[Candidate]]:
    memo = ctx.memo
    if memo is not None:
        hit = memo.get(pool.id)
        if hit is not None and hit[0] is ctx.snap:
            return hit[1], hit[2]
    verdicts = candidates(pool, ctx.slots[pool.id], ctx.snap, ctx.now, ctx.down)
    eligible = [c for c in verdicts if c.ok]
    if memo is not None and _timeless(pool, ctx):
        memo[pool.id] = (ctx.snap, verdicts, eligible)
    return verdicts, eligible


def _timeless(pool: Pool, ctx: Ctx) -> bool:
    """True when no member's verdict can change with the clock alone (until the snapshot
    changes): no override with an expiry, no pushed status with an expiry."""
    snap = ctx.snap
    for member in pool.members:
        key = (pool.id, member.value)
        override = snap.overrides.get(key)
        if override is not None and override.until is not None:
            return False
        replica = snap.replicas.get(key)
        if replica is not None and replica.expires is not None:
            return False
    return True


def all_down(policy: RecordPolicy, first: Sequence[str], ctx: Ctx) -> Outcome:
    action = policy.on_all_down
    if action == "servfail":
        ctx.note("every pool is down: on_all_down servfail (fail closed)")
        return Outcome(None, dns.rcode.SERVFAIL)
    if action == "nodata":
        ctx.note("every pool is down: on_all_down nodata (fail closed)")
        return Outcome(None)
    if action == "all" and first:
        pool = policy.pools[first[0]]
        values = tuple(m.value for m in pool.members[: pool.max_answers])
        ctx.note(f"every pool is down: on_all_down all (fail open): every value of {pool.id}")
        return Outcome(values)
    return record_values(policy, ctx, "every pool is down: on_all_down values")


def record_values(policy: RecordPolicy, ctx: Ctx, why: str) -> Outcome:
    if not policy.values:
        ctx.note(f"{why}: the record has no values, NODATA")
        return Outcome(None)
    ctx.note(f"{why}: the record's own values")
    return Outcome(policy.values)
