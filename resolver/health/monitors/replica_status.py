"""Replica status polls: a JSON status URL, or Patroni's REST API (``GET /patroni``).

JSON: ``{"role": "primary" | "replica", "lag_seconds": 1.5}``.
Patroni: ``role`` (``master``/``primary`` or ``replica``/``standby_leader``), ``state``
(``running``/``streaming``), and ``xlog``: ``location`` on the primary; ``replayed_location``
and ``replayed_timestamp`` on replicas. The board turns positions into lag (it knows the pool).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from resolver.health.model import ProbeResult, Target
from resolver.health.monitors.base import ProbeContext, url_of

PRIMARY_NAMES = {"primary", "master", "leader", "writer"}
REPLICA_NAMES = {"replica", "standby", "secondary", "slave", "reader", "standby_leader",
                 "sync_standby"}
RUNNING = {"running", "streaming"}


def role_of(text: Any) -> str | None:
    word = str(text or "").lower()
    if word in PRIMARY_NAMES:
        return "primary"
    if word in REPLICA_NAMES:
        return "replica"
    return None


async def _get_json(target: Target, ctx: ProbeContext) -> tuple[int, Any, float]:
    url = url_of("http", target.address, target.port, target.path or "/")
    start = ctx.clock()
    async with ctx.session.get(url, allow_redirects=False) as resp:
        status = resp.status
        data = await resp.json(content_type=None) if status in (200, 503) else None
    return status, data, ctx.clock() - start


async def probe_json(target: Target, ctx: ProbeContext) -> ProbeResult:
    status, data, rtt = await _get_json(target, ctx)
    if status != 200 or not isinstance(data, dict):
        return ProbeResult(False, f"status {status}", rtt)
    role = role_of(data.get("role"))
    if role is None:
        return ProbeResult(False, f"unknown role {data.get('role')!r}", rtt)
    lag = data.get("lag_seconds", 0.0 if role == "primary" else None)
    if lag is not None and (not isinstance(lag, int | float) or isinstance(lag, bool)):
        return ProbeResult(False, f"bad lag_seconds {lag!r}", rtt)
    return ProbeResult(True, f"role {role}", rtt, role, None if lag is None else float(lag))


async def probe_patroni(target: Target, ctx: ProbeContext) -> ProbeResult:
    # Patroni answers /patroni with 200 whatever the role; 503 only when Postgres is down.
    status, data, rtt = await _get_json(target, ctx)
    if not isinstance(data, dict):
        return ProbeResult(False, f"status {status}", rtt)
    state = str(data.get("state", "running"))
    if state not in RUNNING:
        return ProbeResult(False, f"patroni state {state}", rtt)
    role = role_of(data.get("role"))
    if role is None:
        return ProbeResult(False, f"unknown role {data.get('role')!r}", rtt)
    xlog = data.get("xlog") if isinstance(data.get("xlog"), dict) else {}
    if role == "primary":
        return ProbeResult(True, "role primary", rtt, role, 0.0, _int(xlog.get("location")))
    position = _int(xlog.get("replayed_location"))
    return ProbeResult(True, "role replica", rtt, role, None, position,
                       _timestamp(xlog.get("replayed_timestamp")))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
