"""TCP per RFC 7766: 2-byte length framing, many queries per connection (answered as they
complete, so out of order when recursion is involved), an idle timeout, and a cap on
connections.

What a connection may cost is bounded, so that idle, half-framed or slow clients cannot
starve others:
- the idle timer restarts only when a whole message has arrived, so a client that trickles a
  half frame is closed like an idle one (it does not fire while answers are still pending);
- at the connection cap, the connection that has been quiet longest is closed to make room;
- a client that does not read its answers stops being read from (the write buffer is
  bounded), and is aborted rather than flushed when its idle time is up;
- at most ``MAX_PENDING_PER_CONNECTION`` answers may wait on the network per connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable

from resolver.handler import QueryHandler
from resolver.transport.sockets import bind

log = logging.getLogger("resolver.transport.tcp")

MAX_PENDING_PER_CONNECTION = 64
WRITE_BUFFER_HIGH = 256 * 1024  # bytes of unread answers before we stop reading
CAP_LOG_INTERVAL = 10.0  # seconds between two "connection cap reached" log lines


class TcpLimits:
    """The limits every connection of one server shares, and its open connections."""

    def __init__(self, idle_timeout: float = 10.0, max_connections: int = 1024) -> None:
        self.idle_timeout = idle_timeout
        self.max_connections = max(1, max_connections)
        self.open: dict[TcpConnection, None] = {}  # insertion-ordered set
        self.evicted = 0
        self._logged_at = float("-inf")

    def admit(self, connection: TcpConnection) -> None:
        while len(self.open) >= self.max_connections:
            quietest = min(self.open, key=lambda c: c.last_active)
            self.open.pop(quietest, None)  # out now: it no longer counts while it closes
            self.evicted += 1
            self._log_cap(quietest)
            quietest.close(abort=True)
        self.open[connection] = None

    def _log_cap(self, closed: TcpConnection) -> None:
        now = time.monotonic()
        if now - self._logged_at >= CAP_LOG_INTERVAL:
            self._logged_at = now
            log.warning(
                "tcp connection cap %d reached: closing the quietest connections "
                "(this one from %s; %d so far)", self.max_connections, closed.peer[0],
                self.evicted,
            )

    def release(self, connection: TcpConnection) -> None:
        self.open.pop(connection, None)


class TcpConnection(asyncio.Protocol):
    def __init__(self, handler: QueryHandler, limits: TcpLimits) -> None:
        self.handler = handler
        self.limits = limits
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.peer: tuple[str, int] = ("?", 0)
        self.last_active = time.monotonic()
        self._idle: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._eof = False

    # -- asyncio callbacks ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = (str(peer[0]), int(peer[1]))
        self.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self.limits.admit(self)
        self._restart_idle_timer()

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

    def eof_received(self) -> bool:
        """The client half-closed: finish the answers still pending, then close."""
        self._eof = True
        return bool(self._pending)

    def pause_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        for task in self._pending:
            task.cancel()
        self.limits.release(self)
        self.transport = None

    # -- answering --------------------------------------------------------------------------
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
            _discard(reply)
            self.close()
            return
        task = asyncio.ensure_future(self._write_later(reply))
        self._pending.add(task)
        task.add_done_callback(self._done)

    async def _write_later(self, reply: Awaitable[bytes | None]) -> None:
        try:
            data = await reply
        except Exception:
            log.exception("unexpected error answering %s over tcp", self.peer[0])
            return
        if data is not None:
            self._write(data)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if self._eof and not self._pending:
            self.close()

    def _write(self, reply: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(len(reply).to_bytes(2, "big") + reply)

    # -- closing ----------------------------------------------------------------------------
    def _restart_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.limits.idle_timeout, self._idle_timeout)
        self.last_active = time.monotonic()

    def _idle_timeout(self) -> None:
        if self._pending:  # still working for this client: not idle (RFC 7766 §6.2.3)
            self._idle = asyncio.get_running_loop().call_later(
                self.limits.idle_timeout, self._idle_timeout
            )
            return
        self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        """Close, flushing what is written; ``abort`` drops unread answers instead of waiting
        for a client that does not read them."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if abort and transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()


def _discard(reply: object) -> None:
    close = getattr(reply, "close", None)
    if close is not None:
        close()


async def start_tcp(
    handler: QueryHandler, host: str, port: int, limits: TcpLimits, reuse_port: bool = False
) -> asyncio.Server:
    """Listen on ``host:port``; raises ``BindError`` with a reason."""
    loop = asyncio.get_running_loop()
    sock = bind(host, port, socket.SOCK_STREAM, reuse_port)
    try:
        return await loop.create_server(
            lambda: TcpConnection(handler, limits), sock=sock, backlog=512
        )
    except BaseException:
        sock.close()
        raise
