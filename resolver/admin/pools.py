"""``/api/v1/pools``: health, reason, RTT, role and lag of every pool's members, and admin
overrides (``up``/``down``/``drain``/``auto``, optionally until a time). The state lives in
the health board; these handlers only read requests and shape answers."""

from __future__ import annotations

import math
import time
from datetime import datetime

from aiohttp import web

from resolver.admin.common import board_error, number, read_json, reply, routing
from resolver.authority.edit import expect_object
from resolver.errors import InputError


async def list_pools(request: web.Request) -> web.Response:
    return reply({"pools": [p.to_dict() for p in routing(request).board.pools_view()]})


async def get_pool(request: web.Request) -> web.Response:
    try:
        view = routing(request).board.pool_view(request.match_info["pool"])
    except ValueError as exc:
        raise board_error(exc) from None
    return reply(view.to_dict())


async def set_member(request: web.Request) -> web.Response:
    body = expect_object(await read_json(request), "", {"admin_state", "until", "for"})
    state = body.get("admin_state")
    if not isinstance(state, str):
        raise InputError("'admin_state' must be up, down, drain or auto", "admin_state")
    until = parse_until(body.get("until"), body.get("for"), time.time())
    board = routing(request).board
    pool, value = request.match_info["pool"], request.match_info["value"]
    try:
        board.set_override(pool, value, state, until)
    except ValueError as exc:
        raise board_error(exc) from None
    return reply(member_view(board.pool_view(pool).to_dict(), value))


def parse_until(until: object, for_: object, now: float) -> float | None:
    """``until`` (epoch seconds or an RFC 3339 time) or ``for`` (seconds, or ``"10m"``), as
    epoch seconds; None when neither is given."""
    if until is not None and for_ is not None:
        raise InputError("give 'until' or 'for', not both", "for")
    if for_ is not None:
        return now + _duration(for_)
    if until is None:
        return None
    if isinstance(until, str):
        try:
            moment = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            raise InputError("'until' must be epoch seconds or an RFC 3339 time", "until") \
                from None
        if moment.tzinfo is None:
            raise InputError("'until' needs a time zone (…Z or +01:00)", "until")
        return moment.timestamp()
    value = number(until, "until", 0, 2**40)
    assert value is not None
    if value <= now:
        raise InputError("'until' is in the past", "until")
    return value


def _duration(value: object) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    if isinstance(value, str):
        text = value.strip()
        unit = next((u for u in ("ms", "s", "m", "h", "d") if text.endswith(u)), "s")
        try:
            seconds = float(text.removesuffix(unit)) * units[unit]
        except ValueError:
            raise InputError("'for' must be seconds or a duration such as 10m", "for") \
                from None
    else:
        seconds = number(value, "for", 0, 2**40) or 0.0
    if not math.isfinite(seconds) or not 0 < seconds <= 366 * 86400:
        raise InputError("'for' must be more than 0 and at most a year", "for")
    return seconds


def member_view(pool: dict, value: str) -> dict:
    member = next(m for m in pool["members"] if m["value"] == value)
    return {"pool": pool["id"], **member}


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/pools", list_pools)
    app.router.add_get(f"{base}/pools/{{pool}}", get_pool)
    app.router.add_put(f"{base}/pools/{{pool}}/members/{{value}}", set_member)
