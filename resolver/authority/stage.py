"""The authority stage: a :class:`Lookup` in our zones becomes an :class:`Answer`.

CNAME and DNAME chains are followed inside the zone and into other zones served here (as BIND
and NSD do; Knot stops at the zone boundary), up to ``MAX_CHAIN`` links: a chain of exactly
that many CNAMEs still ends in its answer, a longer one is answered as far as the limit. The
rcode is the one of the last name in the chain (RFC 6604). A DNAME's synthesized CNAME is the
answer to a CNAME question (RFC 6672 §3.2); DS at a zone apex comes from the parent zone when
it is served here too (RFC 4035 §3.1.4.1). Policy-bound names (``Dynamic`` entries) are filled
by the router from one health snapshot per query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset

from resolver.authority.store import ZoneStore
from resolver.authority.zone import Dynamic, Entry, Kind, Zone
from resolver.model import Answer, Query, Routed

MAX_CHAIN = 16
A, AAAA, NS, MX, SRV, CNAME, DS = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.NS,
    dns.rdatatype.MX,
    dns.rdatatype.SRV,
    dns.rdatatype.CNAME,
    dns.rdatatype.DS,
)
# Whose targets get their addresses in the additional section (RFC 1035 §3.3, RFC 2782,
# RFC 9460 §4.1 for SVCB and HTTPS).
_TARGET_TYPES = {
    NS: "target", MX: "exchange", SRV: "target",
    dns.rdatatype.SVCB: "target", dns.rdatatype.HTTPS: "target",
}


class Router(Protocol):
    def select(self, entry: Dynamic, query: Query) -> Routed: ...


class AuthorityView(Protocol):
    """What the stage reads from the current snapshot."""

    zones: ZoneStore
    router: Router | None


class AuthorityStage:
    name = "authority"

    def __init__(self, current: Callable[[], AuthorityView]) -> None:
        self._current = current

    def answer(self, query: Query) -> Answer | None:
        view = self._current()
        zone = zone_for(view.zones, query.qname, query.qtype)
        if zone is None:
            return None
        return resolve(view, zone, query)


def zone_for(zones: ZoneStore, name: dns.name.Name, qtype: int) -> Zone | None:
    """The zone that answers ``name``/``qtype``: the longest suffix, except that DS at the apex
    of a zone is the parent's data and is answered from the parent when it is served here too
    (RFC 4035 §3.1.4.1)."""
    zone = zones.find(name)
    if zone is not None and qtype == DS and name == zone.origin and len(name) > 1:
        parent = zones.find(name.parent())
        if parent is not None:
            return parent
    return zone


def resolve(view: AuthorityView, zone: Zone, query: Query) -> Answer:
    qtype = query.qtype
    name = query.qname
    chain: list[dns.rrset.RRset] = []
    seen: set[dns.name.Name] = set()
    links = 0  # CNAMEs (given or synthesized from a DNAME) in the chain so far
    cacheable = True
    scope: int | None = None
    trace: tuple[str, ...] = ()
    for _ in range(MAX_CHAIN + 1):
        seen.add(name)
        found = zone.lookup(name, qtype)
        kind = found.kind
        if (kind is Kind.CNAME or kind is Kind.DNAME) and links == MAX_CHAIN:
            break  # the chain limit: answer the chain as far as it goes
        if kind is Kind.ANSWER or kind is Kind.CNAME:
            rrsets: list[dns.rrset.RRset] = []
            for entry in found.rrsets:
                if isinstance(entry, Dynamic):
                    routed = _route(view, entry, query)
                    cacheable = False
                    if routed.ecs_scope is not None:
                        scope = max(scope or 0, routed.ecs_scope)
                    trace += routed.trace
                    if routed.rcode != dns.rcode.NOERROR:
                        return Answer(routed.rcode, True, tuple(chain), stage="authority",
                                      ecs_scope=scope, trace=trace)
                    if routed.rrset is None:
                        if kind is Kind.CNAME or len(found.rrsets) == 1:
                            return _negative(zone, chain, dns.rcode.NOERROR, cacheable, scope,
                                             trace)
                        continue
                    entry = routed.rrset
                rrsets.append(entry)
            chain.extend(rrsets)
            if kind is Kind.ANSWER:
                return Answer(
                    dns.rcode.NOERROR, True, tuple(chain),
                    additional=_additional(zone, rrsets), cacheable=cacheable,
                    ecs_scope=scope, stage="authority", trace=trace,
                )
            target = rrsets[0][0].target
            links += 1
        elif kind is Kind.DNAME:
            dname = found.rrsets[0]
            assert isinstance(dname, dns.rrset.RRset) and found.owner is not None
            try:
                target = name.relativize(found.owner).concatenate(dname[0].target)
            except dns.name.NameTooLong:
                return Answer(dns.rcode.YXDOMAIN, True, (*chain, dname), cacheable=cacheable,
                              stage="authority", trace=trace)
            cname = dns.rrset.RRset(name, dns.rdataclass.IN, CNAME)
            cname.add(dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, CNAME, target), dname.ttl)
            chain.extend((dname, cname))
            links += 1
            if qtype == CNAME:
                break  # the synthesized CNAME is the answer (RFC 6672 §3.2)
        elif kind is Kind.DELEGATION:
            ns = found.rrsets[0]
            assert isinstance(ns, dns.rrset.RRset)
            return Answer(
                dns.rcode.NOERROR, bool(chain), tuple(chain), (ns,), _additional(zone, [ns]),
                cacheable=cacheable, stage="authority", trace=trace,
            )
        else:
            rcode = dns.rcode.NXDOMAIN if kind is Kind.NXDOMAIN else dns.rcode.NOERROR
            return _negative(zone, chain, rcode, cacheable, scope, trace)
        if target in seen:
            break  # a loop: answer the chain as far as it goes
        next_zone = zone_for(view.zones, target, qtype)
        if next_zone is None:
            break  # the chain leaves our zones; the client's resolver goes on from here
        name, zone = target, next_zone
    return Answer(dns.rcode.NOERROR, True, tuple(chain), cacheable=cacheable, ecs_scope=scope,
                  stage="authority", trace=trace)


def _route(view: AuthorityView, entry: Dynamic, query: Query) -> Routed:
    if view.router is None:
        return Routed(None, dns.rcode.SERVFAIL, trace=("no router loaded",))
    return view.router.select(entry, query)


def _negative(
    zone: Zone,
    chain: list[dns.rrset.RRset],
    rcode: int,
    cacheable: bool,
    scope: int | None,
    trace: tuple[str, ...],
) -> Answer:
    return Answer(rcode, True, tuple(chain), (zone.negative_soa(),), cacheable=cacheable,
                  ecs_scope=scope, stage="authority", trace=trace)


def _additional(zone: Zone, rrsets: list[dns.rrset.RRset]) -> tuple[dns.rrset.RRset, ...]:
    """A/AAAA of NS, MX, SRV, SVCB and HTTPS targets held in this zone: glue, names with data,
    and (as Knot and NSD do) names a wildcard answers for."""
    out: list[dns.rrset.RRset] = []
    done: set[dns.name.Name] = set()
    for rrset in rrsets:
        field = _TARGET_TYPES.get(rrset.rdtype)
        if field is None:
            continue
        for rdata in rrset:
            target = getattr(rdata, field)
            if target in done or target == dns.name.root or not target.is_subdomain(zone.origin):
                continue
            done.add(target)
            for rdtype in (A, AAAA):
                entry = _address(zone, target, rdtype)
                if isinstance(entry, dns.rrset.RRset):
                    out.append(entry)
    return tuple(out)


def _address(zone: Zone, target: dns.name.Name, rdtype: int) -> Entry | None:
    entry = zone.get(target, rdtype)
    if entry is not None or zone.exists(target):
        return entry  # glue below a cut is found here too: it is the node's own data
    found = zone.lookup(target, rdtype)
    return found.rrsets[0] if found.kind is Kind.ANSWER and found.wildcard else None
