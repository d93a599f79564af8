"""UDP: one datagram in, at most one datagram out. No DNS logic here."""

from __future__ import annotations

import asyncio
import logging

from resolver.handler import QueryHandler

log = logging.getLogger("resolver.transport.udp")


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, handler: QueryHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
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


async def start_udp(
    handler: QueryHandler, host: str, port: int, reuse_port: bool = False
) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: UdpProtocol(handler), local_addr=(host, port), reuse_port=reuse_port or None
    )
    return transport
