"""``/metrics`` for the whole server with ``--workers N``.

Each worker copies its counters (:func:`resolver.stats.read_counters`, a few dozen numbers)
once a second into ``counters-<index>.pickle`` in the server's own folder (temp file, then
rename: a reader sees a whole copy or the previous one). Worker 0's ``/metrics`` adds its own
live counters to the other workers' files, so the others' part is up to
``WRITE_SECONDS`` old. Nothing is added to the query path: the copy reads the counters the
query path already keeps.

A worker that is started again begins from what its previous run last wrote, so the sums
stay monotonic across a restart of any worker (worker 0 included); the dead run's last
second of counts is lost. The folder lives as long as the supervisor: a new server starts
from zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any

from resolver.stats import Counters, read_counters

log = logging.getLogger("resolver.countershare")

WRITE_SECONDS = 1.0


class CounterShare:
    def __init__(self, server: Any, directory: Path, index: int, workers: int) -> None:
        self.server = server
        self.directory = directory
        self.index = index
        self.others = [i for i in range(workers) if i != index]
        self.base = self._read(index)  # what this worker's previous run counted
        self._task = asyncio.get_running_loop().create_task(self._write_every_second())

    def own(self) -> Counters:
        return self.base + read_counters(self.server)

    def totals(self) -> Counters:
        """This worker's counters now plus every other worker's last copy."""
        total = self.own()
        for index in self.others:
            total = total + self._read(index)
        return total

    def path_of(self, index: int) -> Path:
        return self.directory / f"counters-{index}.pickle"

    def write(self) -> None:
        path = self.path_of(self.index)
        temp = path.with_suffix(".tmp")
        temp.write_bytes(pickle.dumps(self.own(), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, path)

    def _read(self, index: int) -> Counters:
        """A worker's last copy; nothing (yet) or an unreadable file counts zero."""
        try:
            counters = pickle.loads(self.path_of(index).read_bytes())
        except FileNotFoundError:
            return Counters()
        except Exception as exc:
            log.warning("counters of worker %d not read: %s", index, exc)
            return Counters()
        return counters if isinstance(counters, Counters) else Counters()

    async def _write_every_second(self) -> None:
        while True:
            await asyncio.sleep(WRITE_SECONDS)
            try:
                self.write()
            except OSError as exc:
                log.warning("counters not shared with worker 0: %s", exc)

    def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(OSError):
            self.write()  # a worker stopping cleanly loses nothing
