"""What named-checkzone checks, on parsed zone data. Shared by ``resolver check`` and reload.

Each problem names the file and line of the record at fault. A zone with problems is never
served: at startup that is fatal, on reload the last good version keeps serving.
"""

from __future__ import annotations

from collections.abc import Mapping

import dns.name
import dns.rdatatype

from resolver.authority.load import Problem, ZoneData
from resolver.authority.zone import Dynamic, Entry, Zone

NS, SOA, CNAME, DNAME, A, AAAA = (
    dns.rdatatype.NS,
    dns.rdatatype.SOA,
    dns.rdatatype.CNAME,
    dns.rdatatype.DNAME,
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
)
# Types allowed beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5).
CNAME_COMPANIONS = frozenset(
    {CNAME, dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.KEY}
)


def check_zone(data: ZoneData) -> list[Problem]:
    problems = list(data.problems)
    origin = data.origin
    apex = data.rrsets.get(origin, {})

    def problem(name: dns.name.Name, rdtype: int, message: str) -> None:
        file, line = data.where(name, rdtype)
        problems.append(Problem(file, line, message))

    if SOA not in apex:
        problems.append(Problem(data.path, 1, f"zone {origin} has no SOA record at its apex"))
    elif len(apex[SOA]) != 1:
        problem(origin, SOA, f"zone {origin} has {len(apex[SOA])} SOA records, not one")
    if NS not in apex:
        problems.append(Problem(data.path, 1, f"zone {origin} has no NS records at its apex"))

    for name, node in data.rrsets.items():
        if SOA in node and name != origin:
            problem(name, SOA, f"SOA record at {name}, which is not the zone apex {origin}")
        if CNAME in node:
            if len(node[CNAME]) > 1:
                problem(name, CNAME, f"{name} has {len(node[CNAME])} CNAME records, not one")
            others = [t for t in node if t not in CNAME_COMPANIONS]
            if others:
                kinds = ", ".join(dns.rdatatype.to_text(t) for t in sorted(others))
                problem(name, CNAME, f"CNAME and other data at {name} ({kinds})")
        if DNAME in node and len(node[DNAME]) > 1:
            problem(name, DNAME, f"{name} has {len(node[DNAME])} DNAME records, not one")
        if NS in node:
            for rdata in node[NS]:
                target = rdata.target
                # An in-zone name server needs its address here (glue under a cut).
                if target.is_subdomain(origin) and not _has_address(data, target):
                    problem(name, NS, f"NS {target} of {name} has no address records (glue)")
    return problems


def _has_address(data: ZoneData, name: dns.name.Name) -> bool:
    node = data.rrsets.get(name, {})
    return A in node or AAAA in node


def build_zone(
    data: ZoneData, dynamic: Mapping[dns.name.Name, Mapping[int, Dynamic]] | None = None
) -> Zone:
    """Freeze checked data into a servable :class:`Zone`, with policy-bound names added.
    (The zone copies each node: only the nodes that ``dynamic`` changes are copied here,
    not a million of them twice, for a moment of memory and a long free.)"""
    nodes: Mapping[dns.name.Name, Mapping[int, Entry]] = data.rrsets
    if dynamic:
        merged: dict[dns.name.Name, Mapping[int, Entry]] = dict(data.rrsets)
        for name, entries in dynamic.items():
            merged[name] = {**merged.get(name, {}), **entries}
        nodes = merged
    return Zone(data.origin, nodes, source=data.path)
