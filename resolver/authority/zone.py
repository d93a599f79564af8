"""One zone's data and the RFC 1034 §4.3.2 lookup over it. No I/O, no clock.

``Zone.lookup(qname, qtype)`` walks from the apex towards ``qname`` and returns a
:class:`Lookup` naming what happened: an answer, a CNAME to follow, a referral at a zone cut,
a DNAME substitution, NXDOMAIN or NODATA. Wildcards follow RFC 4592: the source of synthesis is
``*.<closest encloser>``, and a name that exists (empty non-terminals included) blocks it.
Names bound to a routing policy hold a :class:`Dynamic` marker in place of an RRset; the
authority stage asks the router to fill it per query.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

A, AAAA, NS, CNAME, DNAME, SOA, DS, ANY = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.NS,
    dns.rdatatype.CNAME,
    dns.rdatatype.DNAME,
    dns.rdatatype.SOA,
    dns.rdatatype.DS,
    dns.rdatatype.ANY,
)
WILDCARD = b"*"


@dataclass(frozen=True, slots=True)
class Dynamic:
    """Placeholder for an RRset computed per query by the router."""

    name: dns.name.Name
    rdtype: int
    ttl: int


Entry = dns.rrset.RRset | Dynamic


class Kind(enum.Enum):
    ANSWER = "answer"
    CNAME = "cname"
    DNAME = "dname"
    DELEGATION = "delegation"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"


@dataclass(frozen=True, slots=True)
class Lookup:
    """The result of one lookup inside one zone.

    ``rrsets`` holds the answer data (owner already set to ``qname`` for wildcard matches);
    for DELEGATION it holds the cut's NS RRset; for DNAME the DNAME RRset.
    """

    kind: Kind
    rrsets: tuple[Entry, ...] = ()
    owner: dns.name.Name | None = None  # the cut, or the DNAME owner
    wildcard: bool = False


class Zone:
    """Immutable view of one zone: nodes by name, cuts, and the SOA for negative answers."""

    __slots__ = ("origin", "nodes", "_existing", "soa", "negative_ttl", "serial", "source")

    def __init__(
        self,
        origin: dns.name.Name,
        nodes: Mapping[dns.name.Name, Mapping[int, Entry]],
        source: str = "",
    ) -> None:
        self.origin = origin
        self.nodes = {name: dict(rrsets) for name, rrsets in nodes.items()}
        self.source = source
        existing: set[dns.name.Name] = set()
        depth = len(origin)
        # Every name here is at or under the origin, so a name as long as the origin is the
        # origin, and one label longer its child: no Name compare, no parent() for those
        # (a million-name zone spends seconds there otherwise).
        for name in self.nodes:
            while len(name) >= depth and name not in existing:
                existing.add(name)
                if len(name) == depth:
                    break
                name = origin if len(name) == depth + 1 else name.parent()
        # Kept as built, never changed: a frozenset copy of a million names, and freeing this
        # set after it, are two long C calls during which no other thread answers.
        self._existing: AbstractSet[dns.name.Name] = existing
        soa = self.nodes.get(origin, {}).get(SOA)
        if not isinstance(soa, dns.rrset.RRset):
            raise ValueError(f"zone {origin} has no SOA at its apex")
        self.soa = soa
        self.serial = soa[0].serial
        self.negative_ttl = min(soa.ttl, soa[0].minimum)

    def __repr__(self) -> str:
        return f"<Zone {self.origin} serial={self.serial} names={len(self.nodes)}>"

    def names(self) -> Iterable[dns.name.Name]:
        return self.nodes.keys()

    def get(self, name: dns.name.Name, rdtype: int) -> Entry | None:
        node = self.nodes.get(name)
        return None if node is None else node.get(rdtype)

    def exists(self, name: dns.name.Name) -> bool:
        """True for names with data and for empty non-terminals."""
        return name in self._existing

    def existing(self) -> AbstractSet[dns.name.Name]:
        """Every name that exists: names with data and empty non-terminals."""
        return self._existing

    def negative_soa(self) -> dns.rrset.RRset:
        """The SOA to put in the authority section of a negative answer (RFC 2308 §3)."""
        soa = dns.rrset.RRset(self.origin, dns.rdataclass.IN, SOA)
        soa.update(self.soa)
        soa.ttl = self.negative_ttl
        return soa

    def lookup(self, qname: dns.name.Name, qtype: int, *, tcp: bool = True) -> Lookup:
        """What ``qname``/``qtype`` finds here. ``tcp`` is accepted for older callers only:
        no answer depends on the transport (ANY is minimal everywhere)."""
        origin_len = len(self.origin)
        labels = qname.labels
        nodes = self.nodes
        # Walk down from the apex: a cut or a DNAME above qname decides before qname does.
        for depth in range(origin_len, len(labels)):
            ancestor = (
                self.origin if depth == origin_len else dns.name.Name(labels[len(labels) - depth :])
            )
            node = nodes.get(ancestor)
            if node is None:
                continue
            if depth > origin_len and NS in node:
                return Lookup(Kind.DELEGATION, (node[NS],), owner=ancestor)
            if DNAME in node:
                return Lookup(Kind.DNAME, (node[DNAME],), owner=ancestor)
        node = nodes.get(qname)
        if node is not None:
            if len(labels) > origin_len and NS in node and qtype != DS:
                return Lookup(Kind.DELEGATION, (node[NS],), owner=qname)
            return _from_node(node, qname, qtype, wildcard=False)
        if qname in self._existing:
            return Lookup(Kind.NODATA)
        encloser = qname.parent()
        while encloser not in self._existing:
            encloser = encloser.parent()
        source_name = dns.name.Name((WILDCARD,) + encloser.labels)
        source = nodes.get(source_name)
        if source is None:
            # An empty non-terminal source of synthesis still exists (RFC 4592 §2.2.1).
            return Lookup(Kind.NODATA if source_name in self._existing else Kind.NXDOMAIN)
        return _from_node(source, qname, qtype, wildcard=True)


def _from_node(
    node: Mapping[int, Entry], qname: dns.name.Name, qtype: int, wildcard: bool
) -> Lookup:
    if qtype == ANY:
        # RFC 8482 §4.1: one RRset (the CNAME if there is one, else the first in zone-file
        # order) over every transport, as Knot and NSD answer too.
        entry = node[CNAME] if CNAME in node else next(iter(node.values()), None)
        if entry is None:
            return Lookup(Kind.NODATA, (), None, wildcard)
        return Lookup(Kind.ANSWER, (_owned(entry, qname, wildcard),), None, wildcard)
    entry = node.get(qtype)
    if entry is not None:
        return Lookup(Kind.ANSWER, (_owned(entry, qname, wildcard),), None, wildcard)
    cname = node.get(CNAME)
    if cname is not None:
        return Lookup(Kind.CNAME, (_owned(cname, qname, wildcard),), None, wildcard)
    return Lookup(Kind.NODATA, (), None, wildcard)


def _owned(entry: Entry, qname: dns.name.Name, wildcard: bool) -> Entry:
    """The RRset as it goes out: a wildcard's data takes the query name as owner."""
    if not wildcard:
        return entry
    if isinstance(entry, Dynamic):
        return Dynamic(qname, entry.rdtype, entry.ttl)
    synthesized = dns.rrset.RRset(qname, entry.rdclass, entry.rdtype)
    synthesized.update(entry)
    return synthesized
