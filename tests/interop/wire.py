"""Sending one case to one server, and the response reduced to what the suite compares.

A :class:`View` holds the rcode, the header flags, the OPT record's essentials and the three
sections as maps ``(owner, type) -> (ttl, rdata set)`` with owner names lowercased and the
names inside rdata in canonical (lower) case: sets of RRsets, order and case aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.interop.cases import Case

Key = tuple[str, str]  # (owner lowercased, type mnemonic)
RRsets = dict[Key, tuple[int, frozenset[str]]]
FLAG_NAMES = ("QR", "AA", "TC", "RD", "RA", "AD", "CD")


@dataclass(frozen=True, slots=True)
class Opt:
    version: int
    payload: int
    do: bool


@dataclass(frozen=True, slots=True)
class View:
    rcode: int
    flags: frozenset[str]
    answer: RRsets
    authority: RRsets
    additional: RRsets
    opt: Opt | None
    question: tuple[tuple[bytes, ...], int] | None  # labels as received, and the type

    @property
    def tc(self) -> bool:
        return "TC" in self.flags

    @property
    def aa(self) -> bool:
        return "AA" in self.flags

    def describe(self) -> str:
        lines = [f"rcode={self.rcode} flags={' '.join(sorted(self.flags))} opt={self.opt}"]
        for label, section in (("answer", self.answer), ("authority", self.authority),
                               ("additional", self.additional)):
            for (owner, rdtype), (ttl, rdatas) in sorted(section.items()):
                lines.append(f"  {label}: {owner} {ttl} {rdtype} {sorted(rdatas)}")
        return "\n".join(lines)


def make_query(case: Case) -> dns.message.QueryMessage:
    shape = case.shape
    query = dns.message.make_query(
        case.qname, case.qtype,
        use_edns=False if shape.payload is None else 0,
        payload=shape.payload or 1232,
        want_dnssec=shape.do,
    )
    if not shape.rd:
        query.flags &= ~dns.flags.RD
    return query


def send(query: dns.message.Message, host: str, port: int, tcp: bool) -> dns.message.Message:
    if tcp:
        return dns.query.tcp(query, host, port=port, timeout=3.0)
    for attempt in range(3):  # a datagram lost on a busy loopback is asked again, as stubs do
        try:
            return dns.query.udp(query, host, port=port, timeout=3.0, ignore_trailing=True)
        except dns.exception.Timeout:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def ask(case: Case, host: str, port: int) -> View:
    return view(send(make_query(case), host, port, case.shape.tcp))


def canonical_rdata(rdata: dns.rdata.Rdata) -> str:
    """The rdata as text with embedded names lowercased (RFC 4034 §6.2)."""
    wire = rdata.to_digestable()
    return dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0, len(wire)).to_text()


def rrsets(section: list[dns.rrset.RRset]) -> RRsets:
    out: RRsets = {}
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        key = (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype))
        data = frozenset(canonical_rdata(r) for r in rrset)
        if key in out:  # the same RRset split in two places: merge, keep the lower TTL
            ttl, old = out[key]
            out[key] = (min(ttl, rrset.ttl), old | data)
        else:
            out[key] = (rrset.ttl, data)
    return out


def view(message: dns.message.Message) -> View:
    flags = frozenset(
        name for name in FLAG_NAMES if message.flags & getattr(dns.flags, name)
    )
    opt = None
    if message.edns >= 0:
        opt = Opt(message.edns, message.payload, bool(message.ednsflags & dns.flags.DO))
    question = None
    if message.question:
        q = message.question[0]
        question = (q.name.labels, q.rdtype)
    return View(message.rcode(), flags, rrsets(message.answer), rrsets(message.authority),
                rrsets(message.additional), opt, question)
