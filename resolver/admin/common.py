"""What every admin handler shares: the keys to the server's parts, JSON in and out."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

import dns.exception
import dns.name
from aiohttp import web

from resolver.errors import InputError

if TYPE_CHECKING:
    from resolver.authority.writer import ZoneWriter
    from resolver.config.schema import ServerConfig
    from resolver.fastpath import AnswerTable
    from resolver.handler import QueryHandler
    from resolver.reloadshare import ReloadReport
    from resolver.runtime import Runtime
    from resolver.stats import Counters


class Server(Protocol):
    """The parts of :class:`resolver.app.App` the admin API reads (a protocol, so the admin
    package does not import the composition root)."""

    config: ServerConfig
    runtime: Runtime
    listeners: list[str]
    handler: QueryHandler
    table: AnswerTable

    def reload(self) -> Awaitable[None]: ...

    def reload_everywhere(self) -> Awaitable[ReloadReport]:
        """This process and, with ``--workers N``, every other worker."""
        ...

    def counters(self) -> Counters:
        """This process's counters, or with ``--workers N`` every worker's."""
        ...


SERVER: web.AppKey[Server] = web.AppKey("server")
WRITER: web.AppKey[ZoneWriter] = web.AppKey("writer")
STARTED: web.AppKey[float] = web.AppKey("started")


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers,
                             dumps=lambda v: json.dumps(v, indent=1, allow_nan=False))


def error_reply(status: int, message: str, field: str | None = None,
                headers: dict[str, str] | None = None) -> web.Response:
    return reply({"error": message, "field": field}, status, headers)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: web.Request) -> Any:
    """The body as JSON (NaN and Infinity refused), or :class:`InputError`."""
    raw = await request.read()
    if not raw.strip():
        raise InputError("the request needs a JSON body", None)
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the body is not valid JSON: {exc}", None) from None


def etag(serial: int) -> dict[str, str]:
    return {"ETag": f'"{serial}"'}


def if_match(request: web.Request) -> int | None:
    """``If-Match: <serial>`` (quoted or not); None when absent or ``*``."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or int(text) >= 2**32:
        raise InputError("If-Match must be a zone serial (0 to 4294967295)", "If-Match")
    return int(text)


def origin_param(request: web.Request) -> dns.name.Name:
    text = request.match_info["zone"]
    try:
        return dns.name.from_text(text.rstrip(".") + ".")
    except dns.exception.DNSException:
        raise InputError(f"'{text}' is not a zone name", "zone", 404) from None


def number(value: object, field: str, low: float, high: float, *, optional: bool = False
           ) -> float | None:
    """A JSON number in [low, high] (booleans are not numbers)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"'{field}' must be a number", field)
    if not low <= value <= high:
        raise InputError(f"'{field}' must be from {low:g} to {high:g}", field)
    return float(value)


def routing(request: web.Request) -> Any:
    """The server's routing service (policies, health board, explain)."""
    service = getattr(request.app[SERVER], "routing", None)
    if service is None:
        raise InputError("routing is not running in this server", None, 503)
    return service


def board_error(exc: Exception) -> InputError:
    """A health board refusal as an API error: 404 for an unknown pool or member."""
    message = str(exc)
    field = getattr(exc, "field", None)
    unknown = message.startswith("no pool") or "is not a member" in message
    return InputError(message, field, 404 if unknown else 400)
