"""``/healthz``, ``/readyz``, ``/api/v1/status`` and ``/api/v1/reload``."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from resolver import __version__
from resolver.admin.common import SERVER, STARTED, Server, reply
from resolver.authority.edit import serial_of


def _board(server: Server) -> Any:
    routing = getattr(server, "routing", None)
    return getattr(routing, "board", None)


async def healthz(request: web.Request) -> web.Response:
    """Alive: the event loop that answers DNS also answered this."""
    return reply({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready once the zones are loaded and every health check has had its first result."""
    server = request.app[SERVER]
    board = _board(server)
    waiting = [] if board is None or board.ready() else ["health checks"]
    if not server.listeners:
        waiting.append("listeners")
    return reply({"ready": not waiting, "waiting": waiting}, 200 if not waiting else 503)


def status_body(server: Server, started: float) -> dict[str, Any]:
    runtime = server.runtime
    zones = [{"name": d.origin.to_text(), "serial": serial_of(d), "file": d.path}
             for _, d in sorted(runtime.zone_data().items())]
    routing = getattr(server, "routing", None)
    policies = getattr(routing, "policies", None)
    return {
        "version": __version__,
        "uptime_seconds": round(time.time() - started, 3),
        "listeners": list(server.listeners),
        "admin": server.config.admin,
        "zones": zones,
        "rejected_zone_files": runtime.rejected_files(),
        "policy_records": len(getattr(policies, "records", ())),
        "snapshot": {"generation": runtime.snapshot.generation,
                     "loaded_at": runtime.snapshot.loaded_at},
    }


async def status(request: web.Request) -> web.Response:
    return reply(status_body(request.app[SERVER], request.app[STARTED]))


async def reload(request: web.Request) -> web.Response:
    """As SIGHUP: every zone and policy file is read again now, by every worker; bad files
    keep their last good version serving and are listed in ``rejected_zone_files`` (details
    in the log). ``504`` when a worker did not confirm in time (``resolver/reloadshare.py``)."""
    server = request.app[SERVER]
    report = await server.reload_everywhere()
    body = {"reloaded": report.complete, "workers": report.to_json(),
            **status_body(server, request.app[STARTED])}
    if not report.complete:
        missing = ", ".join(map(str, report.unconfirmed))
        return reply({"error": f"worker {missing} did not confirm the reload in time",
                      "field": None, **body}, 504)
    return reply(body)


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get(f"{base}/status", status)
    app.router.add_post(f"{base}/reload", reload)
