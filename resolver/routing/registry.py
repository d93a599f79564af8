"""Pool modes, by name: each picks answer values among a pool's eligible members."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from resolver.routing.base import Ctx
from resolver.routing.eligibility import Candidate
from resolver.routing.latency import fastest
from resolver.routing.spec import Pool
from resolver.routing.weighted import active, pick_random

Select = Callable[[Pool, Sequence[Candidate], Ctx], tuple[str, ...]]


def weighted(pool: Pool, eligible: Sequence[Candidate], ctx: Ctx) -> tuple[str, ...]:
    members, standby = active([c.member for c in eligible])
    if ctx.trace is not None:
        shares = ", ".join(f"{m.value} x{1 if standby else m.weight}" for m in members)
        ctx.note(f"  smooth weighted round robin over {shares}" + (" (standbys)" * standby))
    return (ctx.wrr.pick(pool.id, members, standby).value,)


def random_mode(pool: Pool, eligible: Sequence[Candidate], ctx: Ctx) -> tuple[str, ...]:
    members, standby = active([c.member for c in eligible])
    ctx.note(f"  weighted random over {len(members)} value(s)" + (" (standbys)" * standby))
    return (pick_random(members, ctx.rng, standby).value,)


def all_mode(pool: Pool, eligible: Sequence[Candidate], ctx: Ctx) -> tuple[str, ...]:
    members, standby = active([c.member for c in eligible])
    chosen = tuple(m.value for m in members[: pool.max_answers])
    ctx.note(f"  every eligible value, at most {pool.max_answers}" + (" (standbys)" * standby))
    return chosen


def latency_mode(pool: Pool, eligible: Sequence[Candidate], ctx: Ctx) -> tuple[str, ...]:
    members, _ = active([c.member for c in eligible])
    wanted = {m.value for m in members}
    best = fastest([c for c in eligible if c.member.value in wanted])
    rtt = "unknown" if best.rtt is None else f"{best.rtt * 1000:.1f} ms"
    ctx.note(f"  lowest measured RTT: {best.member.value} ({rtt})")
    return (best.member.value,)


MODES: dict[str, Select] = {
    "weighted": weighted,
    "random": random_mode,
    "all": all_mode,
    "latency": latency_mode,
}
