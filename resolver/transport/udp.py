"""UDP: one datagram in, at most one datagram out. No DNS logic here.

The receive loop is the event loop's ``add_reader`` on the non-blocking socket: each wake-up
drains up to ``BATCH`` datagrams with plain ``recvfrom``/``sendto``, so under load one
``epoll`` wait serves many queries, and no transport object sits between the socket and the
fast path. Measured against an asyncio ``DatagramProtocol`` (on uvloop and on the standard
loop) and a blocking receive thread with ``python -m bench.udp_loops`` (see bench/README.md):
the drain answers about a fifth more queries per second than uvloop's protocol, and unlike the
thread it needs no hand-off for the queries the fast path cannot answer.

Most queries end in :meth:`UdpListener._drain` itself: a slice, a dict lookup in the static
fast path's exact level (``fastpath.AnswerTable``), or else in the recursion replay table's
replies for this second (``recursion/wirecache.py``), and a join. Everything else goes to
``QueryHandler.handle``, inline when it can answer now, as a task when it must wait
(recursion).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable

from resolver.handler import QueryHandler
from resolver.transport.sockets import bind

log = logging.getLogger("resolver.transport.udp")

# Datagrams per wake-up: enough that a busy socket is drained in few epoll waits, few enough
# that TCP connections, timers and pending answers get their turn.
BATCH = 64
RECEIVE_SIZE = 65535  # the largest datagram: a smaller buffer would cut a query silently
# Answers still waiting on the network (recursion); past this, new ones are dropped, as a
# busy server drops datagrams, rather than letting tasks pile up without bound.
MAX_PENDING = 10_000


class UdpListener:
    """One bound UDP socket, answered from the event loop (see the module doc)."""

    def __init__(self, handler: QueryHandler, sock: socket.socket) -> None:
        self.handler = handler
        self.sock = sock
        self.sockname = sock.getsockname()
        self.fast_hits = 0  # answered by the drain itself, from either table
        self._pending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.sock.setblocking(False)
        loop.add_reader(self.sock.fileno(), self._drain)

    def _drain(self) -> None:
        # The hot path: keep it to local names, a slice, dict lookups and a join.
        recv, send = self.sock.recvfrom, self.sock.sendto
        handler = self.handler
        closed, opened = handler.table.exact[0], handler.table.exact[1]  # UDP, per recursion
        acl = handler.acl
        uniform = acl.uniform
        recent = handler.recent
        if recent is not None:
            recent.turn_if_due(recent.clock())
            replies = recent.current[0]
        else:
            replies = {}
        hits = 0
        try:
            for _ in range(BATCH):
                try:
                    data, addr = recv(RECEIVE_SIZE)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:  # e.g. an ICMP error reported for an earlier send
                    log.debug("udp receive error: %s", exc)
                    continue
                allowed = acl.allows(addr[0]) if uniform is None else uniform
                key = data[2:]
                tail = (opened if allowed else closed).get(key)
                if tail is None and allowed:
                    tail = replies.get(key)
                if tail is not None:
                    hits += 1
                    try:
                        send(data[:2] + tail, addr)
                    except OSError:
                        pass  # the send buffer is full or the client is gone: as if lost
                    continue
                self._answer(data, addr)
        finally:
            self.fast_hits += hits

    def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
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
            _discard(reply)
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

    def get_extra_info(self, name: str, default: object = None) -> object:
        """As ``asyncio.DatagramTransport.get_extra_info``, for ``sockname``."""
        return self.sockname if name == "sockname" else default

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for task in self._pending:
            task.cancel()
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


def _discard(reply: object) -> None:
    """Close an unawaited coroutine so Python does not warn that it never ran."""
    close = getattr(reply, "close", None)
    if close is not None:
        close()


async def start_udp(
    handler: QueryHandler, host: str, port: int, reuse_port: bool = False
) -> UdpListener:
    """Listen on ``host:port`` (port 0: any free port); raises ``BindError`` with a reason."""
    listener = UdpListener(handler, bind(host, port, socket.SOCK_DGRAM, reuse_port))
    listener.start(asyncio.get_running_loop())
    return listener
