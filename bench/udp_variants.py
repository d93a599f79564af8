"""Other UDP receive loops than the server's own, to measure against it (bench/udp_loops.py).

The server's loop is ``resolver/transport/udp.py``: the event loop's ``add_reader`` on the
non-blocking socket, draining up to 64 datagrams a wake-up and reading the fast path's tables
inline. The alternatives here answer the same way:

- ``protocol``: an asyncio ``DatagramProtocol`` whose ``datagram_received`` reads the exact
  level inline (the server's loop until 2026-11-28), on uvloop;
- ``thread``: a dedicated thread blocks in ``recvfrom``; misses are handed to the event loop
  with ``call_soon_threadsafe`` (bounded: past ``MAX_BACKLOG`` waiting, datagrams are
  dropped as a full socket buffer would drop them). The pipeline only runs on the event
  loop thread; the table is read from both threads and written only by the loop.

Run a server with one of them: ``python -m bench.udp_variants thread serve --listen ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading

from resolver.handler import QueryHandler
from resolver.transport.sockets import bind
from resolver.transport.udp import UdpListener

log = logging.getLogger("resolver.transport.udp_variants")

RECV_SIZE = 65535
MAX_BACKLOG = 4096  # datagrams handed from the receive thread and not yet answered


class ThreadListener(UdpListener):
    """The ``thread`` loop: the listener's slow path, fed from a blocking receive thread."""

    def __init__(self, handler: QueryHandler, sock: socket.socket) -> None:
        super().__init__(handler, sock)
        self._handed = 0  # written by the receive thread only
        self._taken = 0  # written by the event loop only
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.sock.setblocking(True)
        self._thread = threading.Thread(target=self._receive, name="udp receive", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        recv, send = self.sock.recvfrom, self.sock.sendto
        exact = self.handler.table.exact
        closed, opened = exact[0], exact[1]
        acl = self.handler.acl
        uniform = acl.uniform
        handoff = self._loop.call_soon_threadsafe  # type: ignore[union-attr]
        while True:
            try:
                data, addr = recv(RECV_SIZE)
            except OSError:
                if self._closing:
                    return
                continue  # e.g. ECONNREFUSED reported for an earlier send
            if self._closing:
                return
            allowed = acl.allows(addr[0]) if uniform is None else uniform
            tail = (opened if allowed else closed).get(data[2:])
            if tail is not None:
                with contextlib.suppress(OSError):
                    send(data[:2] + tail, addr)
                self.fast_hits += 1
                continue
            if self._handed - self._taken >= MAX_BACKLOG:
                continue  # the event loop is behind: drop, as a full socket buffer would
            self._handed += 1
            try:
                handoff(self._slow, data, addr)
            except RuntimeError:
                return  # the event loop is closed

    def _slow(self, data: bytes, addr: tuple[str, int]) -> None:
        self._taken += 1
        self._answer(data, addr)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread out of recvfrom
        if self._thread is not None:
            self._thread.join(timeout=2)
        super().close()


class ProtocolListener(asyncio.DatagramProtocol):
    """The ``protocol`` loop: an asyncio ``DatagramProtocol``, exact level read inline."""

    def __init__(self, listener: UdpListener) -> None:
        self.listener = listener
        self._sendto = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sendto = transport.sendto  # type: ignore[attr-defined]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        handler = self.listener.handler
        exact = handler.table.exact[handler.acl.allows(addr[0])]
        tail = exact.get(data[2:])
        if tail is not None:
            self._sendto(data[:2] + tail, addr)  # type: ignore[misc]
            self.listener.fast_hits += 1
            return
        self.listener._answer(data, addr)


class ProtocolUdpListener(UdpListener):
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.BaseTransport | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self.start(loop)
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: ProtocolListener(self), sock=self.sock)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._closing = True


async def start_variant(
    handler: QueryHandler, host: str, port: int, reuse_port: bool = False, mode: str = "thread"
) -> UdpListener:
    """Listen on ``host:port`` with the ``thread`` or ``protocol`` loop."""
    sock = bind(host, port, socket.SOCK_DGRAM, reuse_port)
    if mode == "protocol":
        listener = ProtocolUdpListener(handler, sock)
        await listener.open()
        return listener
    threaded = ThreadListener(handler, sock)
    threaded.start(asyncio.get_running_loop())
    return threaded


def main() -> int:
    """``python -m bench.udp_variants MODE serve ...``: ``resolver`` with another UDP loop.

    MODE is ``thread`` or ``protocol`` (this module), ``drain`` (the server as shipped) or
    ``asyncio`` (the server as shipped, on the standard event loop instead of uvloop).
    """
    import sys

    import resolver.app
    from resolver.cli import main as resolver_main

    mode, argv = sys.argv[1], sys.argv[2:]
    if mode == "asyncio":
        sys.modules["uvloop"] = None  # type: ignore[assignment]  # cli falls back to asyncio
    elif mode in ("thread", "protocol"):

        async def start(handler, host, port, reuse_port=False):  # type: ignore[no-untyped-def]
            return await start_variant(handler, host, port, reuse_port, mode)

        resolver.app.start_udp = start  # type: ignore[assignment]
    return resolver_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
