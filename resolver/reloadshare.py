"""``POST /api/v1/reload`` with ``--workers N``: every worker reloads, and says so.

Worker 0 (which serves the API) sends a ``reload`` message with a fresh request id to every
other worker over the workers' channel, reloads itself, and waits for each to answer
``reloaded`` once its own reload has finished (each worker reads the files itself). Until
then it sends the request again every ``RESEND_SECONDS`` (a busy worker's buffer may be full;
a worker started again since has a new socket); a worker that sees a request id again
answers again when done, and never reloads twice for one request.

A worker with no socket bound is not running: it is being started again, and reads every
file when it starts, which is after the request; it is reported as ``starting`` rather than
waited for. A worker that does not answer within ``CONFIRM_WITHIN`` seconds (stopped,
stuck) is reported as ``unconfirmed``; the request waits in its socket and it reloads when
it resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from resolver.workerchannel import Channel, Delivery

RELOAD, RELOADED = "reload", "reloaded"
RESEND_SECONDS = 0.5
CONFIRM_WITHIN = 30.0


@dataclass(frozen=True)
class ReloadReport:
    """Which workers reloaded: ``confirmed`` did and said so (worker 0 first), ``starting``
    were not running and read every file as they start, ``unconfirmed`` did not answer."""

    workers: int
    confirmed: tuple[int, ...]
    starting: tuple[int, ...] = ()
    unconfirmed: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unconfirmed

    def to_json(self) -> dict[str, Any]:
        return {"count": self.workers, "confirmed": list(self.confirmed),
                "starting": list(self.starting), "unconfirmed": list(self.unconfirmed)}


class ReloadLeader:
    """Worker 0's side: :meth:`reload` reloads every worker."""

    def __init__(self, reload_own: Callable[[], Awaitable[None]], channel: Channel,
                 workers: int) -> None:
        self.reload_own = reload_own
        self.channel = channel
        self.workers = workers
        self._ids = itertools.count(1)
        self._confirmed: dict[str, set[int]] = {}
        self._news = asyncio.Event()
        channel.on(RELOADED, self._on_reloaded)

    async def reload(self) -> ReloadReport:
        request = f"{os.getpid()}-{next(self._ids)}"
        confirmed = self._confirmed[request] = set()
        waiting, starting = set(range(1, self.workers)), set()
        deadline = time.monotonic() + CONFIRM_WITHIN
        try:
            starting |= self._ask(request, waiting)
            await self.reload_own()  # the others reload meanwhile
            while True:
                waiting -= confirmed | starting
                left = deadline - time.monotonic()
                if not waiting or left <= 0:
                    break
                self._news.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._news.wait(), min(RESEND_SECONDS, left))
                if not self._news.is_set():
                    starting |= self._ask(request, waiting - confirmed)
        finally:
            del self._confirmed[request]
        return ReloadReport(self.workers, (0, *sorted(confirmed)),
                            tuple(sorted(starting - confirmed)), tuple(sorted(waiting)))

    def _ask(self, request: str, indices: set[int]) -> set[int]:
        """Send the request; the workers not running."""
        sent = self.channel.send_many(sorted(indices), RELOAD, request)
        return {index for index, delivery in sent.items() if delivery is Delivery.ABSENT}

    def _on_reloaded(self, payload: tuple[str, int]) -> None:
        request, index = payload
        if request in self._confirmed:
            self._confirmed[request].add(index)
            self._news.set()


class ReloadFollower:
    """Another worker's side: reload when asked (once this worker has started), then say so."""

    def __init__(self, reload_own: Callable[[], Awaitable[None]], started: asyncio.Event,
                 channel: Channel) -> None:
        self.reload_own = reload_own
        self.started = started
        self.channel = channel
        self._running: set[str] = set()
        self._done: deque[str] = deque(maxlen=64)
        self._tasks: set[asyncio.Task[None]] = set()
        channel.on(RELOAD, self._on_reload)

    def _on_reload(self, request: str) -> None:
        if request in self._done:
            self._confirm(request)  # asked again: the answer was not received
        elif request not in self._running:
            self._running.add(request)
            task = asyncio.get_running_loop().create_task(self._reload(request))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reload(self, request: str) -> None:
        try:
            await self.started.wait()  # a reload while starting would race the first load
            await self.reload_own()  # logs its own failures; the last good state serves
        finally:
            self._running.discard(request)
            self._done.append(request)
        self._confirm(request)

    def _confirm(self, request: str) -> None:
        self.channel.send(0, RELOADED, (request, self.channel.index))
