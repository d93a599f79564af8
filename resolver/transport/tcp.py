"""TCP per RFC 7766: 2-byte length framing, many queries per connection (answered as they
complete, so out of order when recursion is involved), an idle timeout, and a cap on
connections. The idle timer restarts only when a whole message has arrived, so a client that
trickles a half frame is closed like an idle one; at the cap, the connection that has been
quiet longest is closed to make room, so idle clients cannot starve new ones.
"""

from __future__ import annotations

import asyncio
import logging
import time

from resolver.handler import QueryHandler

log = logging.getLogger("resolver.transport.tcp")

MAX_PENDING_PER_CONNECTION = 64


class TcpLimits:
    def __init__(self, idle_timeout: float = 10.0, max_connections: int = 1024) -> None:
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.open: dict[TcpConnection, None] = {}  # insertion-ordered set

    def admit(self, connection: TcpConnection) -> None:
        if len(self.open) >= self.max_connections:
            quietest = min(self.open, key=lambda c: c.last_active)
            log.info("tcp connection cap %d reached: closing the quietest connection from %s",
                     self.max_connections, quietest.peer)
            quietest.close()
        self.open[connection] = None

    def release(self, connection: TcpConnection) -> None:
        self.open.pop(connection, None)


class TcpConnection(asyncio.Protocol):
    def __init__(self, handler: QueryHandler, limits: TcpLimits) -> None:
        self.handler = handler
        self.limits = limits
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.peer = ("?", 0)
        self.last_active = time.monotonic()
        self._idle: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = (peer[0], peer[1])
        self.limits.admit(self)
        self._restart_idle_timer()

    def _restart_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.limits.idle_timeout, self.close)
        self.last_active = time.monotonic()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 2:
            length = buffer[0] << 8 | buffer[1]
            if len(buffer) < 2 + length:
                break
            message = bytes(buffer[2 : 2 + length])
            del buffer[: 2 + length]
            self._restart_idle_timer()
            self._answer(message)
            if self.transport is None or self.transport.is_closing():
                return

    def _answer(self, message: bytes) -> None:
        try:
            reply = self.handler.handle(message, self.peer[0], self.peer[1], "tcp")
        except Exception:
            log.exception("unexpected error on a tcp query from %s", self.peer[0])
            self.close()
            return
        if reply is None:
            # Nothing sensible can be said (no readable header): end the connection.
            self.close()
            return
        if isinstance(reply, bytes):
            self._write(reply)
            return
        if len(self._pending) >= MAX_PENDING_PER_CONNECTION:
            self.close()
            return
        task = asyncio.ensure_future(self._write_later(reply))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write_later(self, reply) -> None:  # type: ignore[no-untyped-def]
        try:
            data = await reply
        except Exception:
            log.exception("unexpected error answering %s over tcp", self.peer[0])
            return
        if data is not None:
            self._write(data)

    def _write(self, reply: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(len(reply).to_bytes(2, "big") + reply)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        for task in self._pending:
            task.cancel()
        self.limits.release(self)
        self.transport = None


async def start_tcp(
    handler: QueryHandler, host: str, port: int, limits: TcpLimits, reuse_port: bool = False
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: TcpConnection(handler, limits), host, port, reuse_address=True,
        reuse_port=reuse_port or None, backlog=512,
    )
