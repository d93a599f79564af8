"""Small asyncio authoritative servers that misbehave on purpose, for recursion scenarios.

Each :class:`NameServer` serves one tiny zone on ``address:53`` (UDP and TCP) and overrides
:meth:`NameServer.respond` for its behaviour: dead, REFUSED, lame, slow, dropping every
other packet, rejecting EDNS, poisoning, spoofing, counting. :class:`NameServerSet` runs them
in a background thread with its own event loop (like dnspython's ``nanonameserver``).
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Responses = list[tuple[float, bytes]]  # (delay in seconds, wire) per datagram to send


def rrsets(zone: str, lines: Iterable[str]) -> dict[tuple[dns.name.Name, int], dns.rrset.RRset]:
    """``"www 300 A 127.0.0.1"`` lines (relative to ``zone``) -> RRsets by (name, type)."""
    origin = dns.name.from_text(zone)
    out: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = {}
    for line in lines:
        owner, ttl, rdtype, *rdata = line.split(None, 3)
        name = dns.name.from_text(owner, origin)
        rrset = dns.rrset.from_text(name, int(ttl), "IN", rdtype, *rdata)
        key = (name, rrset.rdtype)
        if key in out:
            out[key].union_update(rrset)
        else:
            out[key] = rrset
    return out


class NameServer:
    """An authoritative server for ``zone`` holding ``records`` (plus a SOA and NS)."""

    def __init__(self, address: str, zone: str, records: Iterable[str] = (), port: int = 53):
        self.address = address
        self.port = port
        self.zone = dns.name.from_text(zone)
        lines = [
            f"@ 300 SOA ns.{zone} admin.{zone} 1 3600 600 86400 30",
            f"@ 300 NS ns.{zone}",
            f"ns 300 A {address}",
            *records,
        ]
        self.records = rrsets(zone, lines)
        self.names = {name for name, _ in self.records}
        self.queries = 0
        self.udp_queries = 0
        self.tcp_queries = 0

    # -- behaviour -------------------------------------------------------------------------

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        return [(0.0, self.render(self.authoritative(request), request, tcp))]

    def authoritative(self, request: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        question = request.question[0]
        name, rdtype = question.name, question.rdtype
        if not name.is_subdomain(self.zone):
            response.set_rcode(dns.rcode.REFUSED)
            response.flags &= ~dns.flags.AA
            return response
        rrset = self.records.get((name, rdtype))
        if rrset is not None:
            response.answer.append(rrset)
            return response
        cname = self.records.get((name, dns.rdatatype.CNAME))
        if cname is not None:
            response.answer.append(cname)
            return response
        if name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(self.records[(self.zone, dns.rdatatype.SOA)])
        return response

    def render(self, response: dns.message.Message, request: dns.message.Message, tcp: bool
               ) -> bytes:
        limit = 65535 if tcp else (max(512, request.payload) if request.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=limit)

    # -- plumbing ----------------------------------------------------------------------------

    def handle(self, data: bytes, tcp: bool) -> Responses:
        self.queries += 1
        if tcp:
            self.tcp_queries += 1
        else:
            self.udp_queries += 1
        try:
            request = dns.message.from_wire(data)
        except Exception:
            return []
        return self.respond(request, tcp)


class Dead(NameServer):
    """Receives and never answers (a black hole, not an ICMP error)."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        return []


class Refused(NameServer):
    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        response = dns.message.make_response(request)
        response.set_rcode(dns.rcode.REFUSED)
        return [(0.0, response.to_wire())]


class Lame(NameServer):
    """Not authoritative: refers every question back to the zone itself, without AA."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        response = dns.message.make_response(request)
        response.authority.append(self.records[(self.zone, dns.rdatatype.NS)])
        ns_name = dns.name.from_text("ns", self.zone)
        response.additional.append(self.records[(ns_name, dns.rdatatype.A)])
        return [(0.0, response.to_wire())]


class Slow(NameServer):
    def __init__(self, *args: object, delay: float = 1.2, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.delay = delay

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        return [(self.delay, wire) for _, wire in super().respond(request, tcp)]


class Flaky(NameServer):
    """Drops every other UDP datagram it receives."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        if not tcp and self.udp_queries % 2 == 1:
            return []
        return super().respond(request, tcp)


class NoEdns(NameServer):
    """An old server: FORMERR to any query with an OPT record, 512-byte UDP answers."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        if request.edns >= 0:
            response = dns.message.make_response(request)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
            return [(0.0, response.to_wire())]
        return super().respond(request, tcp)


class Poison(NameServer):
    """Answers its own names correctly but adds data for names it has no authority over."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        response = self.authoritative(request)
        forged = dns.rrset.from_text("www.example.test.", 86400, "IN", "A", "127.0.66.6")
        forged_other = dns.rrset.from_text("www.other.test.", 86400, "IN", "A", "127.0.66.6")
        forged_ns = dns.rrset.from_text("example.test.", 86400, "IN", "NS", "ns.poison.test.")
        forged_glue = dns.rrset.from_text("ns1.example.test.", 86400, "IN", "A", "127.0.66.6")
        response.answer.extend([forged, forged_other])
        response.authority.append(forged_ns)
        response.additional.append(forged_glue)
        return [(0.0, response.to_wire())]


class Spoof(NameServer):
    """Before each real answer, sends one with a wrong ID and one for another question."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        real = self.authoritative(request)
        forged = dns.rrset.from_text(request.question[0].name, 86400, "IN", "A", "127.0.66.6")
        wrong_id = dns.message.make_response(request)
        wrong_id.id = (request.id + 1) % 65536
        wrong_id.flags |= dns.flags.AA
        wrong_id.answer.append(forged)
        other = dns.message.make_query("www.example.test.", "A")
        other.id = request.id
        wrong_question = dns.message.make_response(other)
        wrong_question.flags |= dns.flags.AA
        wrong_question.answer.append(
            dns.rrset.from_text("www.example.test.", 86400, "IN", "A", "127.0.66.6"))
        if tcp:
            return [(0.0, self.render(real, request, tcp))]
        return [(0.0, wrong_id.to_wire()), (0.0, wrong_question.to_wire()),
                (0.05, self.render(real, request, tcp))]


class NxdomainEverywhere(NameServer):
    """Answers NXDOMAIN to every question and counts them (an NXNSAttack victim)."""

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(self.records[(self.zone, dns.rdatatype.SOA)])
        return [(0.0, response.to_wire())]


class Toggle(NameServer):
    """Answers while ``alive`` is true, else stays silent (to make cached data go stale)."""

    alive = True

    def respond(self, request: dns.message.Message, tcp: bool) -> Responses:
        return super().respond(request, tcp) if self.alive else []


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: NameServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        for delay, wire in self.server.handle(data, tcp=False):
            assert self.transport is not None
            if delay:
                loop.call_later(delay, self.transport.sendto, wire, addr)
            else:
                self.transport.sendto(wire, addr)


async def _tcp_client(
    server: NameServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            data = await reader.readexactly(length)
            for delay, wire in server.handle(data, tcp=True):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


class NameServerSet:
    """Runs servers in a daemon thread; ``with NameServerSet([...]) as ns: ...``."""

    def __init__(self, servers: Iterable[NameServer]) -> None:
        self.servers = list(servers)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._closers: list[object] = []

    def __getitem__(self, address: str) -> NameServer:
        return next(s for s in self.servers if s.address == address)

    def start(self) -> NameServerSet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        for server in self.servers:
            transport, _ = await self.loop.create_datagram_endpoint(
                lambda s=server: _Udp(s), local_addr=(server.address, server.port)
            )
            tcp = await asyncio.start_server(
                lambda r, w, s=server: _tcp_client(s, r, w), server.address, server.port
            )
            self._closers += [transport, tcp]

    def stop(self) -> None:
        async def close() -> None:
            for closer in self._closers:
                closer.close()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __enter__(self) -> NameServerSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
