"""UDP: one datagram in, at most one datagram out. No DNS logic here."""

from __future__ import annotations

import asyncio
import logging
import socket

from resolver.handler import QueryHandler
from resolver.transport.sockets import bind

log = logging.getLogger("resolver.transport.udp")

# Answers still waiting on the network (recursion); past this, new ones are dropped, as a
# busy server drops datagrams, rather than letting tasks pile up without bound.
MAX_PENDING = 10_000


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, handler: QueryHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self._pending: set[asyncio.Task[None]] = set()
        # The fast path's exact level, read right here (see fastpath.AnswerTable): the UDP
        # tables for clients denied / allowed recursion, or the one every client gets.
        self._tables = handler.table.exact[0], handler.table.exact[1]
        uniform = handler.acl.uniform
        self._exact = None if uniform is None else self._tables[uniform]
        self._sendto = None
        self.fast_hits = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._sendto = transport.sendto  # type: ignore[attr-defined]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        # The hot path, kept to a slice, a dict lookup and a join: most queries end here.
        exact = self._exact
        if exact is None:
            exact = self._tables[self.handler.acl.allows(addr[0])]
        tail = exact.get(data[2:])
        if tail is not None:
            self._sendto(data[:2] + tail, addr)  # type: ignore[misc]
            self.fast_hits += 1
            return
        recent = self.handler.recent  # recursive answers, TTLs counted down (wirecache.py)
        if recent is not None and exact is self._tables[1]:  # this client may recurse
            reply = recent.replay(data)  # counts its own hits
            if reply is not None:
                self._sendto(reply, addr)  # type: ignore[misc]
                return
        self._answer(data, addr)

    def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.handler.handle(data, addr[0], addr[1], "udp")
        except Exception:
            log.exception("unexpected error on a datagram from %s", addr[0])
            return
        if reply is None:
            return
        if isinstance(reply, bytes):
            self.transport.sendto(reply, addr)  # type: ignore[union-attr]
            return
        if len(self._pending) >= MAX_PENDING:
            _discard(reply)
            return
        task = asyncio.ensure_future(self._send_later(reply, addr))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_later(self, reply, addr: tuple[str, int]) -> None:  # type: ignore[no-untyped-def]
        try:
            data = await reply
        except Exception:
            log.exception("unexpected error answering %s", addr[0])
            return
        if data is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


def _discard(reply: object) -> None:
    """Close an unawaited coroutine so Python does not warn that it never ran."""
    close = getattr(reply, "close", None)
    if close is not None:
        close()


async def start_udp(
    handler: QueryHandler, host: str, port: int, reuse_port: bool = False
) -> asyncio.DatagramTransport:
    """Listen on ``host:port`` (port 0: any free port); raises ``BindError`` with a reason."""
    loop = asyncio.get_running_loop()
    sock = bind(host, port, socket.SOCK_DGRAM, reuse_port)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: UdpProtocol(handler), sock=sock)
    except BaseException:
        sock.close()
        raise
    return transport
