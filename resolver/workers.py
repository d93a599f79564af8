"""``serve --workers N``: N server processes answering on the same sockets (SO_REUSEPORT).

The parent process forks the workers before it starts anything else, then only supervises:

- each worker is a whole server (``app.serve``): it loads the zones and policies itself,
  binds every listener with SO_REUSEPORT (the kernel spreads queries and TCP connections
  over the workers) and watches the files, so an edit on disk reaches every worker within a
  second;
- SIGHUP is passed on to every worker (each reloads everything); SIGTERM and SIGINT stop
  them all and then the parent;
- worker 0 alone serves the admin API (one port, one process). What the API changes on disk
  (zone edits, policies) reaches the other workers through the files they watch, within a
  second (``POST /api/v1/reload``: at once, below);
- a worker that fails before it is ready (a port taken, an invalid file) stops the whole
  server with its exit status; a worker that dies later is started again (at most once a
  second per worker).

The workers talk over Unix datagram sockets in a folder the parent creates for this server
(``workerchannel.py``). Health checks run once, in worker 0, whose health board (results,
admin overrides, pushed replica status) is sent to the other workers (``healthshare.py``):
checks do not multiply with the workers, and an override or a push made through the API
reaches all of them. ``POST /api/v1/reload`` asks every worker and answers once each has
reloaded (``reloadshare.py``); ``/metrics`` adds up every worker's counters
(``countershare.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from resolver.config.schema import ServerConfig, parse_hostport
from resolver.transport.sockets import free_port

log = logging.getLogger("resolver.workers")

RESTART_INTERVAL = 1.0  # seconds between two starts of the same worker
STOP_GRACE = 10.0  # seconds the workers have to stop before they are killed
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)

RunServer = Callable[[ServerConfig, Callable[[], None]], int]
_INDEX_VARIABLE, _DIR_VARIABLE = "RESOLVER_WORKER", "RESOLVER_WORKER_DIR"


@dataclass
class _Worker:
    index: int
    pid: int = 0
    ready_fd: int = -1
    ready: bool = False
    started_at: float = 0.0


def supervise(config: ServerConfig, run_server: RunServer) -> int:
    """Run ``config.workers`` workers until SIGTERM/SIGINT; returns the exit status.

    ``run_server(config, ready)`` runs one server to its end in the calling (forked) process
    and calls ``ready()`` once it answers.
    """
    config = _fixed_ports(config)
    shared = tempfile.mkdtemp(prefix="resolver-workers-")  # mode 0700: this server's own
    os.environ[_DIR_VARIABLE] = shared
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    received: list[int] = []
    for signum in _SIGNALS:
        signal.signal(signum, lambda signum, _frame: received.append(signum))
    signal.set_wakeup_fd(wakeup_w)
    workers = [_Worker(index) for index in range(config.workers)]
    for worker in workers:
        _start(worker, config, run_server, (wakeup_r, wakeup_w))
    status = _loop(workers, config, run_server, received, (wakeup_r, wakeup_w))
    signal.set_wakeup_fd(-1)
    for fd in (wakeup_r, wakeup_w):
        os.close(fd)
    shutil.rmtree(shared, ignore_errors=True)
    return status


def prepare_worker(app: Any) -> None:
    """In a worker, before it starts: link it with the others over the workers' channel.
    Worker 0 leads the health checks, fans ``POST /reload`` out and sums ``/metrics``."""
    from resolver import healthshare
    from resolver.countershare import CounterShare
    from resolver.reloadshare import ReloadFollower, ReloadLeader
    from resolver.workerchannel import Channel

    index, directory = int(os.environ[_INDEX_VARIABLE]), Path(os.environ[_DIR_VARIABLE])
    workers = app.config.workers
    channel = Channel(directory, index)
    app.add_closer(channel.close)
    healthshare.attach(app.routing, channel, workers)
    counters = CounterShare(app, directory, index, workers)
    app.add_closer(counters.close)
    if index == 0:
        app.reload_everywhere = ReloadLeader(app.reload, channel, workers).reload
        app.counters = counters.totals
    else:
        ReloadFollower(app.reload, app.started, channel)


def _loop(workers: list[_Worker], config: ServerConfig, run_server: RunServer,
          received: list[int], wakeup: tuple[int, int]) -> int:
    stopping_since: float | None = None
    status = 0
    announced = False
    while True:
        fds = [wakeup[0]] + [w.ready_fd for w in workers if w.ready_fd >= 0]
        readable, _, _ = select.select(fds, [], [], 0.5)
        if wakeup[0] in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wakeup[0], 512)
        for worker in workers:
            if worker.ready_fd in readable:
                worker.ready = os.read(worker.ready_fd, 1) == b"!" or worker.ready
                os.close(worker.ready_fd)
                worker.ready_fd = -1
        if not announced and all(w.ready for w in workers):
            announced = True
            log.info("ready: %d workers (pids %s)", len(workers),
                     " ".join(str(w.pid) for w in workers))
        while received:
            signum = received.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT) and stopping_since is None:
                stopping_since = time.monotonic()
                _signal_all(workers, signal.SIGTERM)
            elif signum == signal.SIGHUP and stopping_since is None:
                log.info("reload requested: passed on to %d workers", len(workers))
                _signal_all(workers, signal.SIGHUP)
        for worker, code in _reap(workers):
            if stopping_since is not None:
                continue
            if not worker.ready:
                log.error("worker %d exited with status %d while starting: stopping",
                          worker.index, code)
                stopping_since, status = time.monotonic(), code or 2
                _signal_all(workers, signal.SIGTERM)
                continue
            log.error("worker %d (pid %d) exited with status %d: starting it again",
                      worker.index, worker.pid, code)
            time.sleep(max(0.0, worker.started_at + RESTART_INTERVAL - time.monotonic()))
            _start(worker, config, run_server, wakeup)
        if stopping_since is not None:
            if not any(w.pid for w in workers):
                return status
            if time.monotonic() - stopping_since > STOP_GRACE:
                _signal_all(workers, signal.SIGKILL)


def _start(worker: _Worker, config: ServerConfig, run_server: RunServer,
           wakeup: tuple[int, int]) -> None:
    ready_r, ready_w = os.pipe()
    worker.started_at = time.monotonic()
    worker.ready = False
    pid = os.fork()
    if pid:
        os.close(ready_w)
        worker.pid, worker.ready_fd = pid, ready_r
        return
    # The child: the parent's signal plumbing is not ours; asyncio installs its own.
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        for fd in (*wakeup, ready_r):
            os.close(fd)
        os.environ[_INDEX_VARIABLE] = str(worker.index)
        own = config if worker.index == 0 else replace(config, admin=None)

        def ready() -> None:
            with contextlib.suppress(OSError):
                os.write(ready_w, b"!")
                os.close(ready_w)

        code = run_server(own, ready)
    except BaseException:
        log.exception("worker %d failed", worker.index)
    finally:
        logging.shutdown()
        os._exit(code)


def _reap(workers: list[_Worker]) -> list[tuple[_Worker, int]]:
    """The workers that exited since the last look, with their exit status."""
    done = []
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        for worker in workers:
            if worker.pid == pid:
                worker.pid = 0
                if worker.ready_fd >= 0:
                    os.close(worker.ready_fd)
                    worker.ready_fd = -1
                done.append((worker, os.waitstatus_to_exitcode(wait_status)))
    return done


def _signal_all(workers: list[_Worker], signum: int) -> None:
    for worker in workers:
        if worker.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)


def _fixed_ports(config: ServerConfig) -> ServerConfig:
    """Port 0 means "any free port": choose it once, here, so that every worker binds the
    same one (each choosing its own would give N servers on N ports)."""
    listen = []
    for address in config.listen:
        host, port = parse_hostport(address, "listen")
        if port == 0:
            port = free_port(host)
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        listen.append(address)
    return replace(config, listen=tuple(listen))

