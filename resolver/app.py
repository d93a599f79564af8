"""Composition root: config -> objects; starts listeners, the zone watcher and services.

This is the only module that knows every part. Startup problems are fatal with a clear
message (:class:`StartupError`); after startup, problems are logged and the last good state
keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from resolver.authority.negative import NegativeAnswers
from resolver.authority.stage import AuthorityStage
from resolver.config.schema import ServerConfig, parse_hostport
from resolver.errors import ResolverError
from resolver.fastpath import AnswerTable
from resolver.handler import QueryHandler, RecursionAcl
from resolver.pipeline import Guard, Pipeline, Stage
from resolver.reloadshare import ReloadReport
from resolver.routing.fastpath import RoutedTable
from resolver.routing.service import RoutingService
from resolver.runtime import Runtime
from resolver.stats import Counters, read_counters
from resolver.transport.tcp import TcpLimits, start_tcp
from resolver.transport.udp import UdpListener, start_udp

log = logging.getLogger("resolver.app")

ZONE_POLL_SECONDS = 1.0


class StartupError(ResolverError):
    """The server cannot start; the message says why."""


class App:
    """One server process: its runtime, pipeline, listeners and background services."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.runtime = Runtime(Path(config.zones))
        self.table = AnswerTable()
        self.runtime.on_swap(lambda _snapshot: self.table.clear())
        self.acl = RecursionAcl(config.recursion, config.allow_recursion)
        self.stages: list[Stage] = [Guard(), AuthorityStage(lambda: self.runtime.snapshot)]
        self.pipeline = Pipeline(self.stages)
        self.handler = QueryHandler(self.pipeline, self.acl, self.table)
        self.routing = RoutingService(self.runtime, config.policies, config.geoip_db)
        self.handler.routed = RoutedTable(lambda: self.runtime.snapshot)
        self.runtime.on_swap(self.handler.routed.clear)
        self.handler.negative = NegativeAnswers(lambda: self.runtime.snapshot)
        self.runtime.on_swap(self.handler.negative.swapped)
        self.tcp_limits = TcpLimits(config.tcp_idle_timeout, config.tcp_max_connections)
        self.listeners: list[str] = []
        self.udp: list[UdpListener] = []  # /metrics reads their fast-path hits
        self._closers: list[Callable[[], Awaitable[None] | None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        # What ``POST /reload`` and ``/metrics`` cover: this process, unless ``--workers N``
        # links it with the others (``workers.prepare_worker``).
        self.reload_everywhere: Callable[[], Awaitable[ReloadReport]] = self._reload_alone
        self.counters: Callable[[], Counters] = lambda: read_counters(self)

    async def start(self) -> None:
        if not Path(self.config.zones).is_dir():
            log.warning("zones folder %s does not exist: no zones are served until it does",
                        self.config.zones)
        problems = self.runtime.load_zones()
        if problems:
            raise StartupError("invalid zone files:\n" + "\n".join(str(p) for p in problems))
        for zone in self.runtime.snapshot.zones:
            log.info("zone %s loaded from %s (serial %s)", zone.origin, zone.source, zone.serial)
        problems = await self.routing.start()  # policies, first round of health checks
        if problems:
            raise StartupError("invalid policy files:\n" + "\n".join(str(p) for p in problems))
        self._closers.append(self.routing.close)
        if self.config.recursion:
            self._start_recursion()
        self.pipeline.stages = tuple(self.stages)
        await self._listen()
        await self._start_admin()
        self._tasks.append(asyncio.create_task(self._watch_zones()))
        self.started.set()

    async def _start_admin(self) -> None:
        """The admin API, after DNS. Not starting it (a non-loopback address without a token,
        a port taken) is a startup error like any other: the operator asked for it. Once it
        runs, a failure inside it never stops DNS (its handlers are apart from the query path).
        """
        if not self.config.admin:
            return
        from resolver.admin.app import start_admin

        try:
            runner = await start_admin(self)
        except (ResolverError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            await self.close()
            raise StartupError(f"cannot start the admin API on {self.config.admin}: {reason}"
                               ) from None
        self._closers.append(runner.cleanup)

    def _start_recursion(self) -> None:
        from resolver.recursion.stage import build_recursion
        from resolver.recursion.wirecache import RecentAnswers

        stage = build_recursion(self.config)
        self.stages.append(stage)
        self._closers.append(stage.close)
        recent = RecentAnswers()
        self.handler.recent = recent
        self.runtime.on_swap(lambda _snapshot: recent.clear())
        log.info("recursion on for %s, from %s%s", ", ".join(self.config.allow_recursion),
                 stage.ctx.hints.source, " and forwarders" if self.config.forward else "")

    async def _listen(self) -> None:
        for address in self.config.listen:
            host, port = parse_hostport(address, "listen")
            try:
                udp, tcp = await self._bind_pair(host, port)
            except OSError as exc:
                await self.close()
                raise StartupError(f"cannot listen on {address}: {exc.strerror or exc}") from None
            self._closers.append(udp.close)
            self.udp.append(udp)
            self._closers.append(tcp.close)
            bound = udp.get_extra_info("sockname")
            label = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
            self.listeners.append(label)
            log.info("listening on %s (udp, tcp)", label)

    async def _bind_pair(
        self, host: str, port: int
    ) -> tuple[UdpListener, asyncio.Server]:
        """UDP and TCP on one port. With port 0 the kernel picks the UDP port, and another
        program may hold that port for TCP: then pick again (a few times) rather than fail."""
        reuse_port = self.config.workers > 1
        attempts = 10 if port == 0 else 1
        for attempt in range(attempts):
            udp = await start_udp(self.handler, host, port, reuse_port)
            chosen = udp.get_extra_info("sockname")[1]
            try:
                tcp = await start_tcp(self.handler, host, chosen, self.tcp_limits, reuse_port)
            except OSError:
                udp.close()
                if attempt + 1 == attempts:
                    raise
                continue
            return udp, tcp
        raise AssertionError("unreachable")

    async def _watch_zones(self) -> None:
        while True:
            await asyncio.sleep(ZONE_POLL_SECONDS)
            await self.reload_zones()

    async def reload_zones(self, force: bool = False) -> None:
        try:
            await self.runtime.refresh_zones_async(force)
        except Exception:
            log.exception("zone reload failed; the last good zones keep serving")

    async def reload(self) -> None:
        """SIGHUP and ``POST /reload``: look at every file again now."""
        log.info("reload requested")
        await self.reload_zones(force=True)
        try:
            await self.routing.refresh(force=True)
        except Exception:
            log.exception("policy reload failed; the last good policies keep serving")

    async def _reload_alone(self) -> ReloadReport:
        await self.reload()
        return ReloadReport(1, (0,))

    def add_closer(self, closer: Callable[[], Awaitable[None] | None]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for closer in reversed(self._closers):
            result = closer()
            if result is not None:
                with contextlib.suppress(Exception):
                    await result
        self._closers.clear()


# How long the event loop may wait for the GIL while a zone is parsed in a thread (Python's
# default, 5 ms, is then every query's added latency).
GIL_SWITCH_INTERVAL = 0.0005


async def serve(config: ServerConfig, ready: Callable[[], None] | None = None,
                prepare: Callable[[App], None] | None = None) -> int:
    """Run one server until SIGTERM/SIGINT; ``ready()`` is called once it answers (the
    ``--workers`` supervisor waits for that), ``prepare(app)`` before it starts."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    app = App(config)
    if prepare is not None:
        prepare(app)
    # Signals are ours before the first socket is bound: a SIGTERM while starting stops the
    # server cleanly once started, and a SIGHUP then is not fatal (nothing to reload yet).
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, app.stopped.set)
    loop.add_signal_handler(signal.SIGINT, app.stopped.set)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: app.started.is_set() and asyncio.ensure_future(app.reload())
    )
    try:
        await app.start()
    except ResolverError as exc:
        log.error("%s", exc)
        return 2
    log.info("ready: %d zones", len(app.runtime.snapshot.zones))
    if ready is not None:
        ready()
    await app.stopped.wait()
    log.info("stopping")
    await app.close()
    return 0
