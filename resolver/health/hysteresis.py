"""Pure state transitions: probe results -> target state, lag -> eligibility. No clock reads.

- A target's first result decides its state at once (so the first answers reflect a check);
  after that it takes ``fall`` failures in a row to go down and ``rise`` successes to come up.
- RTT is an exponentially weighted moving average of successful probes.
- A replica leaves the eligible set when its lag exceeds ``max_lag`` and comes back only once
  the lag is at or under ``resume_lag``, so a replica hovering at the limit does not flap.
"""

from __future__ import annotations

from collections.abc import Iterable

from resolver.health.model import ProbeResult, ReplicaState, TargetState
from resolver.routing.spec import Replication, Timing

RTT_ALPHA = 0.3


def ewma(previous: float | None, sample: float, alpha: float = RTT_ALPHA) -> float:
    return sample if previous is None else previous + alpha * (sample - previous)


def next_target_state(state: TargetState, result: ProbeResult, now: float,
                      timing: Timing) -> TargetState:
    ok = result.ok
    ok_streak = state.ok_streak + 1 if ok else 0
    fail_streak = 0 if ok else state.fail_streak + 1
    up = state.up
    if up is None:
        up = ok
    elif up and fail_streak >= timing.fall:
        up = False
    elif not up and ok_streak >= timing.rise:
        up = True
    if ok == up:
        reason = result.reason
    else:
        streak, needed = (fail_streak, timing.fall) if up else (ok_streak, timing.rise)
        base = state.reason.split("; pending", 1)[0]
        reason = f"{base}; pending {result.reason} ({streak}/{needed})"
    rtt = ewma(state.rtt, result.rtt) if ok and result.rtt is not None else state.rtt
    return TargetState(
        up=up, reason=reason, since=now if up != state.up else state.since, last_check=now,
        rtt=rtt, ok_streak=ok_streak, fail_streak=fail_streak,
        last=result if ok else state.last,
    )


def lag_ok(previous: bool | None, lag: float | None, spec: Replication) -> bool:
    if lag is None:
        return False
    if previous is False:
        return lag <= spec.resume_lag
    return lag <= spec.max_lag


def lag_reason(role: str | None, lag: float | None, ok: bool, spec: Replication) -> str:
    if role is None:
        return "role unknown"
    if role != "replica":
        return f"role {role}"
    if lag is None:
        return "replica, lag unknown"
    if ok:
        return f"replica, lag {lag:g} s <= {spec.max_lag:g} s"
    if lag > spec.max_lag:
        return f"lag {lag:g} s > {spec.max_lag:g} s"
    return f"lag {lag:g} s, recovering: needs <= {spec.resume_lag:g} s"


def patroni_lag(result: ProbeResult, primary_positions: Iterable[int],
                now: float) -> float | None:
    """Seconds a Patroni replica is behind: 0 once it has replayed the primary's position,
    else the age of the last transaction it replayed (``xlog.replayed_timestamp``)."""
    if result.lag is not None:
        return result.lag
    positions = list(primary_positions)
    if result.position is not None and positions and result.position >= max(positions):
        return 0.0
    if result.replayed_at is not None:
        return max(0.0, now - result.replayed_at)
    return None


def next_replica_state(previous: ReplicaState | None, role: str | None, lag: float | None,
                       spec: Replication, now: float, source: str, reason: str = "",
                       expires: float | None = None) -> ReplicaState:
    prev_ok = previous.lag_ok if previous is not None else None
    ok = lag_ok(prev_ok, lag, spec) if role == "replica" else False
    reason = reason or lag_reason(role, lag, ok, spec)
    changed = previous is None or previous.role != role or previous.lag_ok != ok
    since = now if changed or previous is None else previous.since
    return ReplicaState(role, lag, ok, reason, since, now, source, expires)
