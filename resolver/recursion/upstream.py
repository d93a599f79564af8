"""The only I/O of recursion: one question to one server, over UDP, then TCP when truncated.

Each UDP query gets its own socket on a random source port and a random ID, is connected to
the server (so the kernel drops datagrams from anyone else and reports ICMP errors), and a
reply is accepted only when it comes from the server's address and port, carries our ID and
echoes our question (``dns.message.Message.is_response``). Anything else is ignored and we
keep waiting until the timeout, so a spoofed datagram cannot end the wait either.

Safety for tests: when ``RESOLVER_UPSTREAM_LOOPBACK_ONLY`` is set (the test helpers set it)
or the process runs under pytest, packets go only to loopback addresses; anything else is
reported as unreachable without a packet being sent.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import random
import socket
import struct
import time

import dns.exception
import dns.flags
import dns.message

from resolver.recursion.resolution import Reply, Send
from resolver.stats import Histogram

log = logging.getLogger("resolver.recursion.upstream")

EDNS_PAYLOAD = 1232
MIN_TCP_TIMEOUT = 1.5
_FIRST_PORT, _LAST_PORT = 1024, 65535


def loopback_only_from_env() -> bool:
    return bool(os.environ.get("RESOLVER_UPSTREAM_LOOPBACK_ONLY")
                or os.environ.get("PYTEST_CURRENT_TEST"))


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _Waiter(asyncio.DatagramProtocol):
    """Collects the first datagram that is a valid response to ``query``."""

    def __init__(self, query: dns.message.Message, peer: tuple[str, int]) -> None:
        self.query = query
        self.peer = peer
        self.future: asyncio.Future[dns.message.Message] = (
            asyncio.get_running_loop().create_future()
        )
        self.ignored = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        if self.future.done():
            return
        response = _valid(self.query, data, addr, self.peer)
        if response is None:
            self.ignored += 1
            return
        self.future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        if not self.future.done() and isinstance(exc, ConnectionRefusedError):
            self.future.set_exception(exc)


def _valid(
    query: dns.message.Message, data: bytes, addr: tuple[str, int], peer: tuple[str, int]
) -> dns.message.Message | None:
    if (addr[0], addr[1]) != peer:
        return None
    try:
        response = dns.message.from_wire(data, ignore_trailing=True)
    except Exception:
        return None
    try:
        return response if query.is_response(response) else None
    except Exception:
        return None


class Upstream:
    def __init__(
        self, rng: random.Random | None = None, loopback_only: bool | None = None
    ) -> None:
        self.rng = rng or random.SystemRandom()
        self.loopback_only = loopback_only_from_env() if loopback_only is None else loopback_only
        self.sent = 0
        self.latency = Histogram()  # seconds per answered exchange, for /metrics
        self._transports: set[asyncio.BaseTransport] = set()

    def make_query(self, send: Send) -> dns.message.Message:
        query = dns.message.make_query(
            send.qname, send.qtype, use_edns=0 if send.edns else False, payload=EDNS_PAYLOAD,
        )
        query.id = self.rng.getrandbits(16)
        query.flags = dns.flags.RD if send.rd else 0
        return query

    async def exchange(self, send: Send) -> Reply:
        if self.loopback_only and not _is_loopback(send.address):
            log.error("refusing to query %s: only loopback upstreams allowed here", send.address)
            return Reply(None, error="unreachable")
        query = self.make_query(send)
        wire = query.to_wire()
        started = time.monotonic()
        try:
            response = await self._udp(send, query, wire)
        except ConnectionRefusedError:
            return Reply(None, time.monotonic() - started, "unreachable")
        except TimeoutError:
            return Reply(None, time.monotonic() - started, "timeout")
        except OSError as exc:
            log.debug("udp to %s failed: %s", send.address, exc)
            return Reply(None, time.monotonic() - started, "network")
        rtt = time.monotonic() - started
        self.latency.observe(rtt)
        if response.flags & dns.flags.TC:
            try:
                response = await asyncio.wait_for(
                    self._tcp(send, query, wire), max(send.timeout * 2, MIN_TCP_TIMEOUT)
                )
            except (OSError, TimeoutError, EOFError, asyncio.IncompleteReadError) as exc:
                log.debug("tcp to %s failed: %s", send.address, exc)
                return Reply(None, time.monotonic() - started, "network")
        return Reply(response, rtt)

    async def _udp(
        self, send: Send, query: dns.message.Message, wire: bytes
    ) -> dns.message.Message:
        loop = asyncio.get_running_loop()
        peer = (send.address, send.port)
        waiter = _Waiter(query, peer)
        transport = await self._endpoint(loop, waiter, peer)
        self._transports.add(transport)
        try:
            transport.sendto(wire)
            self.sent += 1
            return await asyncio.wait_for(waiter.future, send.timeout)
        finally:
            transport.close()
            self._transports.discard(transport)

    async def _endpoint(
        self, loop: asyncio.AbstractEventLoop, waiter: _Waiter, peer: tuple[str, int]
    ) -> asyncio.DatagramTransport:
        family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
        any_host = "::" if family == socket.AF_INET6 else "0.0.0.0"
        for _ in range(20):
            port = self.rng.randint(_FIRST_PORT, _LAST_PORT)  # random source port
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: waiter, local_addr=(any_host, port), remote_addr=peer,
                    family=family,
                )
                return transport  # type: ignore[return-value]
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, "no free source port")

    async def _tcp(
        self, send: Send, query: dns.message.Message, wire: bytes
    ) -> dns.message.Message:
        reader, writer = await asyncio.open_connection(send.address, send.port)
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            self.sent += 1
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                data = await reader.readexactly(length)
                try:
                    response = dns.message.from_wire(data, ignore_trailing=True)
                except dns.exception.DNSException:
                    continue
                if query.is_response(response):
                    return response
        finally:
            writer.close()

    def close(self) -> None:
        for transport in list(self._transports):
            transport.close()
        self._transports.clear()

