"""One prober for every worker (``serve --workers N``): worker 0 probes, the others follow.

Worker 0 (the leader) runs the health checks and the admin API as a single server would. Its
health board's state (:class:`resolver.health.board.BoardState`: target results with their
hysteresis, replica roles and lags, pushed replica status, admin overrides) is sent, whole,
to every other worker each time the board publishes a change and once a second besides
(which also brings a restarted worker up to date). The other workers (followers) run no
checks: they install the leader's state in their own board, which keeps only the targets
and members their own policies use, and publishes it to their router. A follower installing
new policies waits (up to ``FIRST_WORD`` seconds) for the leader's first word on new
targets, as the leader waits for its first probes.

The state travels as one ``health`` message on the workers' channel (``workerchannel.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

from resolver.health.board import BoardState, HealthBoard
from resolver.workerchannel import Channel

HEALTH = "health"
RESEND_SECONDS = 1.0
FIRST_WORD = 5.0  # seconds a follower waits for the leader's results on new targets


def attach(routing: Any, channel: Channel, workers: int) -> None:
    """Called in each worker before it starts: worker 0 leads, the others follow."""
    if channel.index == 0:
        Leader(routing.board, channel, workers)
    else:
        Follower(routing, channel)


class Leader:
    def __init__(self, board: HealthBoard, channel: Channel, workers: int) -> None:
        self.board = board
        self.channel = channel
        self.followers = range(1, workers)
        board.on_publish(lambda _snapshot: self.send())
        self._task = asyncio.get_running_loop().create_task(self._resend())

    def send(self) -> None:
        self.channel.send_many(self.followers, HEALTH, self.board.export_state())

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(RESEND_SECONDS)
            self.send()


class Follower:
    def __init__(self, routing: Any, channel: Channel) -> None:
        self.board: HealthBoard = routing.board
        self.heard: set[Any] = set()  # targets the leader has a result for
        self.changed = asyncio.Event()
        channel.on(HEALTH, self._receive)
        routing.scheduler.apply = self.apply  # no checks here: the leader runs them

    async def apply(self, targets: Iterable[Any]) -> None:
        wanted = set(targets)
        deadline = time.monotonic() + FIRST_WORD
        while not wanted <= self.heard and time.monotonic() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())

    def _receive(self, state: BoardState) -> None:
        self.board.import_state(state)
        self.heard = {t for t, s in state.targets.items() if s.up is not None}
        self.changed.set()
