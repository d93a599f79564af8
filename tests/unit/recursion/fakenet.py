"""A simulated network for the sans-I/O resolution: responders by address, a virtual clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from resolver.recursion.cache import Cache, CachePolicy
from resolver.recursion.hints import parse_hints
from resolver.recursion.resolution import Context, Done, Limits, Reply, Resolution, Result, Send
from resolver.recursion.servers import Servers

Responder = Callable[[dns.message.Message], dns.message.Message | None]
NS, A, SOA, CNAME = dns.rdatatype.NS, dns.rdatatype.A, dns.rdatatype.SOA, dns.rdatatype.CNAME

HINTS = parse_hints(". 3600000 NS a.root.\na.root. 3600000 A 10.0.0.1\n", "test hints")


def authority(origin: str, text: str) -> Responder:
    """A plain authoritative server for one zone given as master-file text."""
    zone_name = dns.name.from_text(origin)
    zone = dns.zone.from_text(text, zone_name, relativize=False)
    names = set(zone.nodes)

    def rrset(name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
        found = zone.get_rdataset(name, rdtype)
        if found is None:
            return None
        out = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
        out.update(found)
        out.ttl = found.ttl
        return out

    def respond(query: dns.message.Message) -> dns.message.Message:
        name, rdtype = query.question[0].name, query.question[0].rdtype
        response = dns.message.make_response(query)
        for depth in range(len(zone_name) + 1, len(name) + 1):
            cut = dns.name.Name(name.labels[-depth:])
            ns = rrset(cut, NS)
            if ns is not None:
                response.authority.append(ns)
                for rd in ns:
                    glue = rrset(rd.target, A)
                    if glue is not None:
                        response.additional.append(glue)
                return response
        response.flags |= dns.flags.AA
        data = rrset(name, rdtype) or rrset(name, CNAME)
        if data is not None:
            response.answer.append(data)
            return response
        if name not in names and not any(n.is_subdomain(name) for n in names):
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(rrset(zone_name, SOA))
        return response

    return respond


@dataclass
class FakeNet:
    servers: dict[str, Responder]
    now: float = 1000.0
    rtt: float = 0.01
    sent: list[Send] = field(default_factory=list)

    def context(self, **limits: float) -> Context:
        return Context(Cache(CachePolicy()), Servers(), HINTS, limits=Limits(**limits),
                       rng=random.Random(7))

    def resolve(self, ctx: Context, qname: str, qtype: str = "A", refresh: bool = False
                ) -> Result:
        resolution = Resolution(ctx, dns.name.from_text(qname), dns.rdatatype.from_text(qtype),
                                refresh=refresh)
        step = resolution.start(self.now)
        while not isinstance(step, Done):
            step = resolution.on_reply(self.exchange(step), self.now)
        return step.result

    def exchange(self, send: Send) -> Reply:
        self.sent.append(send)
        responder = self.servers.get(send.address)
        query = dns.message.make_query(send.qname, send.qtype,
                                       use_edns=0 if send.edns else False)
        response = responder(query) if responder is not None else None
        if response is None:
            self.now += send.timeout
            return Reply(None, send.timeout, "timeout")
        self.now += self.rtt
        return Reply(dns.message.from_wire(response.to_wire()), self.rtt)


ROOT = """
@ 3600 SOA a.root. admin.root. 1 3600 600 86400 60
@ 3600 NS a.root.
a.root. 3600 A 10.0.0.1
test. 3600 NS ns.nic.test.
ns.nic.test. 3600 A 10.0.0.2
"""
TLD = """
@ 3600 SOA ns.nic.test. admin.test. 1 3600 600 86400 60
@ 3600 NS ns.nic.test.
ns.nic.test. 3600 A 10.0.0.2
example.test. 3600 NS ns.example.test.
ns.example.test. 3600 A 10.0.0.3
glueless.test. 3600 NS ns.example.test.
"""
SLD = """
@ 300 SOA ns.example.test. admin.example.test. 1 3600 600 86400 30
@ 300 NS ns.example.test.
ns 300 A 10.0.0.3
www 300 A 192.0.2.1
alias 300 CNAME www
a.b.c 300 A 192.0.2.2
"""


def basic_tree() -> FakeNet:
    return FakeNet({
        "10.0.0.1": authority(".", ROOT),
        "10.0.0.2": authority("test.", TLD),
        "10.0.0.3": authority("example.test.", SLD),
    })
