"""One prober for every worker (``serve --workers N``): worker 0 probes, the others follow.

Worker 0 (the leader) runs the health checks and the admin API as a single server would. Its
health board's state (target results with their hysteresis, replica roles and lags, pushed
replica status, admin overrides) is sent, whole, to every other worker each time the board
publishes a change and once a second besides (which also brings a restarted worker up to
date). The other workers (followers) run no checks: they install the leader's state in
their own board, keeping only the targets and members their own policies use, and publish
it to their router. A follower installing new policies waits (up to ``FIRST_WORD`` seconds)
for the leader's first word on new targets, as the leader waits for its first probes.

The state travels as one pickled datagram over Unix sockets in a folder the supervisor
creates for this server alone (mode 0700): ``w<index>.sock`` for each follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("resolver.healthshare")

RESEND_SECONDS = 1.0
FIRST_WORD = 5.0  # seconds a follower waits for the leader's results on new targets
MAX_STATE = 4 << 20


def attach(app: Any, index: int, directory: str) -> None:
    """Called in each worker before it starts: worker 0 leads, the others follow."""
    routing = getattr(app, "routing", None)
    if routing is None:
        return
    if index == 0:
        Leader(routing.board, Path(directory))
    else:
        Follower(routing, Path(directory), index)


class Leader:
    def __init__(self, board: Any, directory: Path) -> None:
        self.board = board
        self.directory = directory
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_STATE)
        publish = board._publish

        def publish_and_send() -> None:
            publish()
            self.send()

        board._publish = publish_and_send  # every change the board makes ends in a publish
        self._task = asyncio.get_running_loop().create_task(self._resend())

    def send(self) -> None:
        board = self.board
        state = pickle.dumps((time.time(), board._targets, board._replicas, board._pushed,
                              board._overrides), protocol=pickle.HIGHEST_PROTOCOL)
        for path in self.directory.glob("w*.sock"):
            try:
                self.sock.sendto(state, str(path))
            except OSError as exc:  # a follower that is gone or not reading yet
                log.debug("health state not sent to %s: %s", path.name, exc)

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(RESEND_SECONDS)
            self.send()


class Follower:
    def __init__(self, routing: Any, directory: Path, index: int) -> None:
        self.board = routing.board
        self.path = directory / f"w{index}.sock"
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_STATE)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.sock.setblocking(False)
        self.heard: set[Any] = set()  # targets the leader has a result for
        self.changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(self.sock.fileno(), self._receive)
        routing.scheduler.apply = self.apply  # no checks here: the leader runs them

    async def apply(self, targets: Iterable[Any]) -> None:
        wanted = set(targets)
        deadline = time.monotonic() + FIRST_WORD
        while not wanted <= self.heard and time.monotonic() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())

    def _receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_STATE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("health state from worker 0 not read: %s", exc)
                return
            try:
                _, targets, replicas, pushed, overrides = pickle.loads(data)
                self.install(targets, replicas, pushed, overrides)
            except Exception:
                log.exception("health state from worker 0 not installed")

    def install(self, targets: dict, replicas: dict, pushed: dict, overrides: dict) -> None:
        """The leader's state, for the targets and members this worker's policies use."""
        board = self.board
        members = {(p.id, m.value) for p in board._pools.values() for m in p.members}
        board._targets = {t: targets.get(t, s) for t, s in board._targets.items()}
        board._replicas = {k: v for k, v in replicas.items() if k in members}
        board._pushed = {k: v for k, v in pushed.items() if k in members}
        board._overrides = {k: v for k, v in overrides.items() if k in members}
        self.heard = {t for t, s in targets.items() if s.up is not None}
        board._publish()
        self.changed.set()
