"""Backends for routing tests: real aiohttp servers on 127.0.30.x that tests start, stop
and reconfigure while the resolver health-checks them.

Each address serves ``/health`` (status code and body from its state), ``/status`` (the JSON
replica status ``{"role", "lag_seconds"}``) and a fake Patroni REST API (``/patroni``,
``/primary``, ``/replica?lag=``). The servers run on their own event loop in a thread, so
synchronous tests can drive them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

PORT = 18080  # the port policies are written with; tests swap in ``Backends.port``
ADDRESS = web.AppKey("address", str)


class Backends:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.state: dict[str, dict[str, Any]] = {}
        self._runners: dict[str, web.AppRunner] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(15)

    def start(self, address: str, **state: Any) -> None:
        """Serve on ``address`` (again); ``state`` sets health/role/lag/positions."""
        current = self.state.setdefault(address, {"health": 200, "body": "ok", "role": "replica",
                                                  "lag": 0.0, "location": 0,
                                                  "replayed": 0, "replayed_at": None})
        current.update(state)
        if address not in self._runners:
            self._call(self._start(address))

    def set(self, address: str, **state: Any) -> None:
        self.state[address].update(state)

    def stop(self, address: str) -> None:
        """Kill the server on ``address``: its port refuses connections from now on."""
        runner = self._runners.pop(address, None)
        if runner is not None:
            self._call(runner.cleanup())

    def close(self) -> None:
        for address in list(self._runners):
            self.stop(address)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _start(self, address: str) -> None:
        app = web.Application()
        app[ADDRESS] = address
        app.router.add_get("/health", self._health)
        app.router.add_get("/status", self._status)
        app.router.add_get("/patroni", self._patroni)
        app.router.add_get("/primary", self._primary)
        app.router.add_get("/replica", self._replica)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, address, self.port, reuse_address=True)
        await site.start()
        self._runners[address] = runner

    def _of(self, request: web.Request) -> dict[str, Any]:
        return self.state[request.app[ADDRESS]]

    async def _health(self, request: web.Request) -> web.Response:
        state = self._of(request)
        return web.Response(status=state["health"], text=state["body"])

    async def _status(self, request: web.Request) -> web.Response:
        state = self._of(request)
        return web.json_response({"role": state["role"], "lag_seconds": state["lag"]})

    async def _patroni(self, request: web.Request) -> web.Response:
        state = self._of(request)
        body: dict[str, Any] = {"state": "running", "role": state["role"],
                                "server_version": 160002, "timeline": 3}
        if state["role"] in ("master", "primary"):
            body["xlog"] = {"location": state["location"]}
        else:
            at = state["replayed_at"]
            body["xlog"] = {"received_location": state["replayed"],
                            "replayed_location": state["replayed"], "paused": False,
                            "replayed_timestamp": datetime.fromtimestamp(at, UTC).isoformat()
                            if at else None}
        return web.json_response(body)

    async def _primary(self, request: web.Request) -> web.Response:
        primary = self._of(request)["role"] in ("master", "primary")
        return web.Response(status=200 if primary else 503)

    async def _replica(self, request: web.Request) -> web.Response:
        state = self._of(request)
        ok = state["role"] == "replica"
        lag = request.query.get("lag")
        if ok and lag is not None:
            primaries = [s["location"] for s in self.state.values()
                         if s["role"] in ("master", "primary")]
            ok = not primaries or max(primaries) - state["replayed"] <= int(lag)
        return web.Response(status=200 if ok else 503)


def _free_port(host: str = "127.0.30.1") -> int:
    """A TCP port free on 127.0.30.x, so that concurrent test runs do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
