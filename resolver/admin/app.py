"""The admin HTTP API: an aiohttp application on the server's own event loop.

A thin shell over the functions ``resolver check``, reload and ``explain`` use: handlers read
the request, call one core function and shape the answer. Every ``/api/v1`` route needs
``Authorization: Bearer <token>`` (compared in constant time, never logged); ``/metrics``,
``/healthz`` and ``/readyz`` need none. Every error is JSON: ``{"error": ..., "field": ...}``.

DNS does not depend on this side: a failing handler answers 500 and is logged; the API is
started after the DNS listeners.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from resolver.admin import explain, metrics, openapi, policies, pools, replicas, status, zones
from resolver.admin.common import SERVER, STARTED, WRITER, Server, error_reply
from resolver.authority.writer import ZoneWriter
from resolver.config.schema import parse_hostport
from resolver.errors import ConfigError, InputError

log = logging.getLogger("resolver.admin")

BASE = "/api/v1"
DEFAULT_PORT = 8053
MAX_BODY = 4 * 1024 * 1024
TOKEN: web.AppKey[str | None] = web.AppKey("token")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes ``{"error", "field"}`` with a 4xx (or 500, logged)."""
    try:
        return await handler(request)
    except InputError as exc:
        return error_reply(exc.status, exc.message, exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        return error_reply(exc.status, exc.reason, None, headers)
    except Exception:
        log.exception("admin API: %s %s failed", request.method, request.path)
        return error_reply(500, "internal error; the server log has the details")


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == BASE or request.path.startswith(BASE + "/"):
        token = request.app[TOKEN]
        if not token:
            return error_reply(403, "the admin API has no token: set api_token in the config "
                               "or RESOLVER_API_TOKEN", "Authorization")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return error_reply(401, "missing or wrong bearer token", "Authorization",
                               {"WWW-Authenticate": 'Bearer realm="resolver"'})
    return await handler(request)


def make_app(server: Server, token: str | None, writer: ZoneWriter | None = None
             ) -> web.Application:
    app = web.Application(middlewares=[json_errors, bearer_auth], client_max_size=MAX_BODY)
    app[SERVER] = server
    app[TOKEN] = token
    app[STARTED] = time.time()
    app[WRITER] = writer or ZoneWriter(server.runtime, Path(server.config.zones))
    for module in (status, metrics, zones, policies, pools, replicas, explain, openapi):
        module.add_routes(app, BASE)
    return app


def check_address(address: str, token: str | None) -> tuple[str, int]:
    """``ADDR:PORT`` of the API; refuses a non-loopback address without a token."""
    host, port = parse_hostport(address, "admin", DEFAULT_PORT)
    if not token and not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
        raise ConfigError("admin", f"refusing to serve the admin API on {address} without a "
                          "token: set api_token in the config or RESOLVER_API_TOKEN")
    return host, port


async def start_admin(server: Server) -> web.AppRunner:
    """Serve the API at ``config.admin`` on the running loop; the caller closes the runner.
    Raises :class:`ConfigError` or :class:`OSError` (port taken)."""
    token = server.config.api_token
    host, port = check_address(server.config.admin or "", token)
    runner = web.AppRunner(make_app(server, token), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError:
        await runner.cleanup()
        raise
    label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not token:
        log.warning("admin API on %s has no token: only /metrics, /healthz and /readyz "
                    "answer; /api/v1 refuses every call", label)
    log.info("admin API on http://%s%s", label, BASE)
    return runner
