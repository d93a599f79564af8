"""Runs the probes: one task per target, jittered, at most one probe in flight per endpoint.

:meth:`Scheduler.apply` is called whenever the policy set changes: targets no longer used
are stopped, new ones get one probe at once (so the first answers of a new policy already
reflect them) and then a loop. Probes start on a fixed cadence (start + interval), shortened
by up to ``JITTER`` so checks do not fire in lockstep and never run late: a dead backend is
seen within ``interval x fall`` plus the probe's own time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterable

import aiohttp

from resolver.health.board import HealthBoard
from resolver.health.model import ProbeResult, Target
from resolver.health.monitors import PROBES, ProbeContext, describe
from resolver.stats import Histogram

log = logging.getLogger("resolver.health.scheduler")
JITTER = 0.15


class Scheduler:
    def __init__(self, board: HealthBoard, rng: random.Random | None = None) -> None:
        self.board = board
        self.rng = rng or random.Random()
        self._tasks: dict[Target, asyncio.Task[None]] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self.probes = 0  # how many probes ran (tests, metrics)
        self.durations = Histogram()  # seconds per probe, for /metrics

    @property
    def targets(self) -> frozenset[Target]:
        return frozenset(self._tasks)

    async def apply(self, targets: Iterable[Target]) -> None:
        """Probe exactly ``targets`` from now on; new ones are probed once before returning."""
        wanted = set(targets)
        for target in [t for t in self._tasks if t not in wanted]:
            self._tasks.pop(target).cancel()
            log.info("health check stopped: %s", target.label())
        new = [t for t in wanted if t not in self._tasks]
        if not new:
            return
        for target in new:
            log.info("health check started: %s every %gs (timeout %gs, rise %d, fall %d)",
                     target.label(), target.timing.interval, target.timing.timeout,
                     target.timing.rise, target.timing.fall)
        await asyncio.gather(*(self.probe(t) for t in new))
        for target in new:
            self._tasks[target] = asyncio.create_task(self._loop(target))
        endpoints = {t.endpoint for t in self._tasks}
        self._locks = {e: lock for e, lock in self._locks.items() if e in endpoints}

    async def _loop(self, target: Target) -> None:
        interval = target.timing.interval
        next_at = time.monotonic() + interval * self.rng.uniform(1 - JITTER, 1.0)
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            started = time.monotonic()
            await self.probe(target)
            next_at = started + interval * self.rng.uniform(1 - JITTER, 1.0)

    async def probe(self, target: Target) -> ProbeResult:
        """Probe ``target`` once and report the result to the board."""
        lock = self._locks.setdefault(target.endpoint, asyncio.Lock())
        async with lock:
            started = time.monotonic()
            result = await self._run(target)
            self.durations.observe(time.monotonic() - started)
        self.probes += 1
        self.board.report(target, result)
        return result

    async def _run(self, target: Target) -> ProbeResult:
        probe = PROBES.get(target.kind)
        if probe is None:
            return ProbeResult(False, f"no monitor for {target.kind}")
        try:
            return await asyncio.wait_for(probe(target, ProbeContext(self._http())),
                                          target.timing.timeout)
        except TimeoutError:
            return ProbeResult(False, "timeout")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is a result, never a crash
            return ProbeResult(False, describe(exc))

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # A fresh connection per probe: a check must see a dead backend, not a pooled socket.
            connector = aiohttp.TCPConnector(force_close=True, limit=0)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
