"""The replica status API: ``GET /api/v1/replicas`` (each replica-aware pool: members, role,
lag, eligible or not and why) and ``PUT /api/v1/replicas/{pool}/{value}``, a pushed role and
lag that expires after ``ttl`` seconds unless pushed again (a heartbeat, as in active-passive
fail-over). Pools take roles from pushes only (``source: push``) or from pushes over polling:
a current push wins, an expired one leaves the member unknown (or polled) again."""

from __future__ import annotations

from aiohttp import web

from resolver.admin.common import board_error, number, read_json, reply, routing
from resolver.admin.pools import member_view
from resolver.authority.edit import expect_object
from resolver.errors import InputError

MAX_PUSH_TTL = 86400.0  # a heartbeat longer than a day is a configuration, not a heartbeat
MAX_LAG = 10 * 365 * 86400.0


async def list_replicas(request: web.Request) -> web.Response:
    return reply({"pools": [p.to_dict() for p in routing(request).board.replicas_view()]})


async def push_replica(request: web.Request) -> web.Response:
    body = expect_object(await read_json(request), "", {"role", "lag_seconds", "ttl"})
    role = body.get("role")
    if role not in ("primary", "replica"):
        raise InputError("'role' must be primary or replica", "role")
    lag = number(body.get("lag_seconds"), "lag_seconds", 0, MAX_LAG, optional=True)
    ttl = number(body.get("ttl"), "ttl", 0.001, MAX_PUSH_TTL)
    board = routing(request).board
    pool, value = request.match_info["pool"], request.match_info["value"]
    try:
        board.push(pool, value, role, lag, ttl)
    except ValueError as exc:
        raise board_error(exc) from None
    return reply(member_view(board.pool_view(pool).to_dict(), value))


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/replicas", list_replicas)
    app.router.add_put(f"{base}/replicas/{{pool}}/{{value}}", push_replica)
