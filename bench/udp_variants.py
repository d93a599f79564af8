"""Other UDP receive loops than the server's own, to measure against it (bench/udp_loops.py).

The server's loop is ``resolver/transport/udp.py``: an asyncio ``DatagramProtocol`` (under
uvloop when installed) whose ``datagram_received`` reads the fast path's exact level inline.
The alternatives here answer the same way:

- ``thread``: a dedicated thread blocks in ``recvfrom``; misses are handed to the event loop
  with ``call_soon_threadsafe`` (bounded: past ``MAX_BACKLOG`` waiting, datagrams are
  dropped as a full socket buffer would drop them). The pipeline only runs on the event
  loop thread; the table is read from both threads and written only by the loop.
- ``reader``: the event loop's ``add_reader`` on the non-blocking socket; each wake-up drains
  up to ``BATCH`` datagrams, so one ``epoll`` wait serves many queries under load.

Run a server with one of them: ``python -m bench.udp_variants thread serve --listen ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable

from resolver.handler import QueryHandler
from resolver.transport.sockets import bind

log = logging.getLogger("resolver.transport.fastudp")

RECV_SIZE = 65535
BATCH = 64  # datagrams per wake-up of the reader loop, so other callbacks get their turn
MAX_BACKLOG = 4096  # datagrams handed from the receive thread and not yet answered
MAX_PENDING = 10_000  # answers waiting on the network (recursion), as in udp.py


class FastUdpListener:
    """One bound UDP socket answered by a ``thread`` or ``reader`` loop (see module doc)."""

    def __init__(self, handler: QueryHandler, sock: socket.socket, mode: str = "thread") -> None:
        self.handler = handler
        self.sock = sock
        self.mode = mode
        self.loop = asyncio.get_running_loop()
        self.sockname = sock.getsockname()
        self.hits = 0  # exact-level hits answered in the receive loop
        self._closing = False
        self._handed = 0  # written by the receive thread only
        self._taken = 0  # written by the event loop only
        self._pending: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.mode == "reader":
            self.sock.setblocking(False)
            self.loop.add_reader(self.sock.fileno(), self._drain)
            return
        self.sock.setblocking(True)
        self._thread = threading.Thread(
            target=self._receive, name=f"udp {self.sockname[0]}:{self.sockname[1]}", daemon=True
        )
        self._thread.start()

    def _exact_tables(self) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        exact = self.handler.table.exact
        return exact[0], exact[1]  # UDP, recursion denied / allowed

    # -- the thread loop --------------------------------------------------------------------
    def _receive(self) -> None:
        recv, send = self.sock.recvfrom, self.sock.sendto
        closed, opened = self._exact_tables()
        acl = self.handler.acl
        uniform = acl.uniform
        fixed = opened if uniform else closed
        handoff = self.loop.call_soon_threadsafe
        slow = self._slow
        while True:
            try:
                data, addr = recv(RECV_SIZE)
            except OSError:
                if self._closing:
                    return
                continue  # e.g. ECONNREFUSED reported for an earlier send
            if self._closing:
                return
            if uniform is None:
                exact = opened if acl.allows(addr[0]) else closed
            else:
                exact = fixed
            tail = exact.get(data[2:])
            if tail is not None:
                try:
                    send(data[:2] + tail, addr)
                except OSError:
                    pass  # the client's socket is gone or our buffer is full: as if lost
                self.hits += 1
                continue
            if self._handed - self._taken >= MAX_BACKLOG:
                continue  # the event loop is behind: drop, as a full socket buffer would
            self._handed += 1
            try:
                handoff(slow, data, addr)
            except RuntimeError:
                return  # the event loop is closed

    # -- the reader loop --------------------------------------------------------------------
    def _drain(self) -> None:
        recv, send = self.sock.recvfrom, self.sock.sendto
        closed, opened = self._exact_tables()
        acl = self.handler.acl
        for _ in range(BATCH):
            try:
                data, addr = recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("udp receive error: %s", exc)
                return
            tail = (opened if acl.allows(addr[0]) else closed).get(data[2:])
            if tail is not None:
                try:
                    send(data[:2] + tail, addr)
                except OSError:
                    pass
                self.hits += 1
                continue
            self._taken -= 1  # _slow counts a taken datagram; this one was never handed
            self._slow(data, addr)

    # -- everything else, on the event loop ---------------------------------------------------
    def _slow(self, data: bytes, addr: tuple[str, int]) -> None:
        self._taken += 1
        try:
            reply = self.handler.handle(data, addr[0], addr[1], "udp")
        except Exception:
            log.exception("unexpected error on a datagram from %s", addr[0])
            return
        if reply is None:
            return
        if isinstance(reply, bytes):
            self._send(reply, addr)
            return
        if len(self._pending) >= MAX_PENDING or self._closing:
            close = getattr(reply, "close", None)
            if close is not None:
                close()
            return
        task = asyncio.ensure_future(self._send_later(reply, addr))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_later(self, reply: Awaitable[bytes | None], addr: tuple[str, int]) -> None:
        try:
            data = await reply
        except Exception:
            log.exception("unexpected error answering %s", addr[0])
            return
        if data is not None and not self._closing:
            self._send(data, addr)

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.sock.sendto(data, addr)
        except OSError as exc:
            log.debug("udp send to %s failed: %s", addr[0], exc)

    # -- the asyncio.DatagramTransport bits that app.py uses ----------------------------------
    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.sockname if name == "sockname" else default

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for task in self._pending:
            task.cancel()
        if self.mode == "reader":
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.sock.fileno())
        else:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread out of recvfrom
            if self._thread is not None:
                self._thread.join(timeout=2)
        self.sock.close()


async def start_fast_udp(
    handler: QueryHandler, host: str, port: int, reuse_port: bool = False, mode: str = "thread"
) -> FastUdpListener:
    """Listen on ``host:port`` (port 0: any free port); raises ``BindError`` with a reason."""
    listener = FastUdpListener(handler, bind(host, port, socket.SOCK_DGRAM, reuse_port), mode)
    listener.start()
    return listener


def main() -> int:
    """``python -m bench.udp_variants MODE serve ...``: ``resolver`` with another UDP loop.

    MODE is ``thread`` or ``reader`` (this module), ``uvloop`` (the server as shipped) or
    ``asyncio`` (the server as shipped, on the standard event loop instead of uvloop).
    """
    import sys

    import resolver.app
    from resolver.cli import main as resolver_main

    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "asyncio":
        sys.modules["uvloop"] = None  # type: ignore[assignment]  # cli falls back to asyncio
    elif mode in ("thread", "reader"):

        async def start(handler, host, port, reuse_port=False):  # type: ignore[no-untyped-def]
            return await start_fast_udp(handler, host, port, reuse_port, mode)

        resolver.app.start_udp = start  # type: ignore[assignment]
    return resolver_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
