"""Messages between the workers of one server (``serve --workers N``).

Each worker binds one Unix datagram socket, ``w<index>.sock``, in the folder the supervisor
creates for this server alone (mode 0700). A message is one pickled ``(kind, payload)``
datagram, handed to the handler registered for its kind on the receiver's event loop.
Datagrams on a Unix socket are neither lost nor reordered, and a send never blocks: it fails
at once when nobody listens at the other end (the worker is not running) or when the
receiver's buffer is full (it is busy), and the sender decides whether to try again.

Kinds in use: ``health`` (worker 0's health board, ``healthshare.py``), ``reload`` and
``reloaded`` (``POST /api/v1/reload``, ``reloadshare.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import logging
import os
import pickle
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("resolver.workerchannel")

MAX_MESSAGE = 4 << 20  # a whole health board fits
_ABSENT = (errno.ECONNREFUSED, errno.ENOENT)


class Delivery(enum.Enum):
    SENT = "sent"
    ABSENT = "absent"  # no worker listens there: it is not running (or not yet bound)
    BUSY = "busy"  # its buffer is full, or another passing failure: try again later


class Channel:
    """This worker's end: ``on(kind, handler)`` to receive, ``send(index, kind, payload)``."""

    def __init__(self, directory: Path, index: int) -> None:
        self.directory = directory
        self.index = index
        self._handlers: dict[str, Callable[[Any], None]] = {}
        path = self.path_of(index)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by this worker's previous run
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, option, MAX_MESSAGE)
        self.sock.bind(str(path))
        os.chmod(path, 0o600)
        self.sock.setblocking(False)
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._receive)

    def path_of(self, index: int) -> Path:
        return self.directory / f"w{index}.sock"

    def on(self, kind: str, handler: Callable[[Any], None]) -> None:
        self._handlers[kind] = handler

    def send(self, index: int, kind: str, payload: Any) -> Delivery:
        return self._send_bytes(index, _encode(kind, payload))

    def send_many(self, indices: Iterable[int], kind: str, payload: Any
                  ) -> dict[int, Delivery]:
        """One payload to several workers, pickled once."""
        data = _encode(kind, payload)
        return {index: self._send_bytes(index, data) for index in indices}

    def _send_bytes(self, index: int, data: bytes) -> Delivery:
        try:
            self.sock.sendto(data, str(self.path_of(index)))
        except OSError as exc:
            log.debug("message not sent to worker %d: %s", index, exc)
            return Delivery.ABSENT if exc.errno in _ABSENT else Delivery.BUSY
        return Delivery.SENT

    def _receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("message from another worker not read: %s", exc)
                return
            try:
                kind, payload = pickle.loads(data)
                handler = self._handlers.get(kind)
                if handler is not None:
                    handler(payload)
            except Exception:
                log.exception("message from another worker not handled")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path_of(self.index).unlink()


def _encode(kind: str, payload: Any) -> bytes:
    return pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
