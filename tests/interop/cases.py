"""The query cases of the differential suite: names x types x request shapes.

Names come in groups, one per semantics bullet, each with the types worth asking about there.
Every (name, type) is asked over UDP without EDNS, UDP with EDNS (1232, sometimes 512 or 4096,
sometimes with DO) and TCP. A deterministic share of the names goes out in mixed letter case.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shape:
    """How a question is sent: transport, EDNS payload (None: no OPT) and the DO bit."""

    label: str
    tcp: bool
    payload: int | None
    do: bool = False
    rd: bool = False


UDP = Shape("udp", False, None)
EDNS = Shape("edns", False, 1232)
EDNS_DO_RD = Shape("edns-do-rd", False, 1232, do=True, rd=True)
EDNS512 = Shape("edns512", False, 512)
EDNS4096 = Shape("edns4096", False, 4096, do=True)
TCP = Shape("tcp", True, None)
TCP_EDNS = Shape("tcp-edns", True, 1232, do=True)

BASE_SHAPES = (UDP, EDNS, TCP)
SIZE_SHAPES = (UDP, EDNS512, EDNS, EDNS4096, EDNS_DO_RD, TCP, TCP_EDNS)


@dataclass(frozen=True, slots=True)
class Case:
    qname: str  # as sent, letter case included
    qtype: str
    shape: Shape

    @property
    def id(self) -> str:
        return f"{self.shape.label}-{self.qname.rstrip('.')}-{self.qtype}"


COMMON = ("A", "AAAA", "TXT", "MX", "NS", "ANY")
ADDRESS = ("A", "AAAA", "TXT", "ANY")

# Groups of (names relative to the origin, types); "@" is the apex.
Groups = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

INTEROP: Groups = (
    # AA on authoritative data, apex data, NODATA, many types.
    (("@",), ("SOA", "NS", "MX", "TXT", "CAA", "A", "AAAA", "DS", "ANY", "SRV", "DNAME")),
    # DNSSEC types in unsigned zones: plain NODATA.
    (("@", "www"), ("DNSKEY", "RRSIG", "NSEC", "NSEC3PARAM", "CDS")),
    (("www", "ns1", "ns2", "mail", "mixed", "MiXeD", "ttl"), COMMON),
    (("types",), ("HINFO", "RP", "AFSDB", "LOC", "NAPTR", "SSHFP", "URI", "SPF", "CERT",
                  "DHCID", "TYPE65400", "PTR", "TXT", "A", "ANY")),
    (("_443._tcp.www",), ("TLSA", "A")),
    (("1.2.0.192",), ("PTR",)),
    (("svc",), ("SVCB", "HTTPS", "A")),
    (("caa",), ("CAA", "TXT")),
    (("included", "inc", "host.inc"), ("A", "TXT")),
    # Additional-section processing.
    (("_sip._udp", "_ldap._tcp", "_none._tcp"), ("SRV", "A")),
    (("mx-cname", "mx-ext", "mx-multi", "mx-null", "mx-glue", "mx-wild", "mx-other"),
     ("MX", "A")),
    # NXDOMAIN and NODATA.
    (("nothere", "a.b.c.nothere", "_udp", "_tcp", "www.mail"), ("A", "MX", "SOA")),
    # CNAME chains.
    (("c1", "c2", "c3", "cx", "cx2", "cxx", "cout", "cnx", "cxnx", "cloop1", "cself",
      "cdeleg", "cwild", "cdname", "cmx", "long1", "long5", "v1", "v3", "v10"),
     ("A", "CNAME", "TXT", "MX")),
    # Wildcards.
    (("foo.wild", "a.b.wild", "*.wild", "host.wild", "x.host.wild", "ent.wild",
      "x.ent.wild", "a.ent.wild", "wild"), ("A", "TXT", "MX", "AAAA", "ANY")),
    (("x.cw", "y.x.cw", "x.cwo", "x.cwx", "*.cw"), ("A", "CNAME", "TXT")),
    (("a.*.mid", "a.x.mid", "x.mid", "*.mid", "mid", "b.*.mid"), ("A", "TXT")),
    (("foo.star", "*.esc", "x.esc", "esc"), ("TXT", "A")),
    # Delegations.
    (("sub", "host.sub", "a.b.sub", "ns1.sub", "ns2.sub"), ("A", "NS", "DS", "AAAA", "ANY")),
    (("nods", "ns.nods", "x.nods"), ("A", "NS", "DS")),
    (("ext", "www.ext"), ("A", "NS", "DS")),
    (("sibling", "x.sibling"), ("A", "NS", "DS")),
    (("deep", "b.deep", "a.b.deep", "x.a.b.deep", "ns.deep"), ("A", "NS", "DS")),
    # A child zone served beside its parent; DS at its apex is the parent's.
    (("child", "www.child", "ns1.child", "nothere.child"), ("A", "NS", "DS", "SOA", "MX")),
    # DNAME.
    (("dn", "x.dn", "deep.x.dn", "nothere.dn", "www.dn", "ns.dn"), ("A", "DNAME", "TXT", "CNAME")),
    (("dn2", "www.dn2", "x.dn2", "mx.dn2"), ("A", "DNAME", "MX")),
    (("dnout", "www.dnout"), ("A", "DNAME")),
    (("a" * 60 + ".dnlong", "x.dnlong"), ("A",)),
    (("target", "www.target"), ("A", "DNAME")),
)

OTHER: Groups = (
    (("@",), ("SOA", "NS", "A", "MX")),
    (("www", "ns", "back", "hop", "x", "deep.x", "nothere", "a.w", "w"), ("A", "TXT", "CNAME")),
)

CHILD: Groups = ((("@",), ("SOA", "NS", "DS", "MX", "A")),)

BIG: Groups = (
    (("t700", "t1500", "t5000", "cbig"), ("TXT", "A")),
    (("a40",), ("A", "ANY")),
    (("mx",), ("MX",)),
    (("deleg", "www.deleg", "ns00.deleg"), ("A", "NS")),
    (("@",), ("SOA", "NS", "ANY")),
)

# Names in no zone served: REFUSED without recursion.
OUTSIDE = ("example.net.", "www.example.net.", "test.", ".", "nothere.", "interop.tes.")


def _expand(origin: str, groups: Groups, shapes: tuple[Shape, ...]) -> list[Case]:
    out = []
    for names, types in groups:
        for name in names:
            qname = origin if name == "@" else f"{name}.{origin}"
            for qtype in types:
                for shape in shapes:
                    out.append(Case(qname, qtype, shape))
    return out


def mixed_case(qname: str, rng: random.Random) -> str:
    """The name with letters in random case (0x20 style), never all lower."""
    chars = [c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in qname]
    text = "".join(chars)
    if text == qname and any(c.isalpha() for c in qname):
        index = next(i for i, c in enumerate(qname) if c.isalpha())
        text = qname[:index] + qname[index].upper() + qname[index + 1 :]
    return text


def all_cases(seed: int = 20261128) -> list[Case]:
    rng = random.Random(seed)
    cases = _expand("interop.test.", INTEROP, BASE_SHAPES)
    cases += _expand("other.test.", OTHER, BASE_SHAPES)
    cases += _expand("child.interop.test.", CHILD, BASE_SHAPES)
    cases += _expand("big.test.", BIG, SIZE_SHAPES)
    cases += [Case(name, qtype, shape) for name in OUTSIDE for qtype in ("A", "NS", "SOA")
              for shape in (UDP, EDNS)]
    out = []
    for index, case in enumerate(cases):
        if index % 3 == 1:  # a third of the cases in mixed case
            case = Case(mixed_case(case.qname, rng), case.qtype, case.shape)
        out.append(case)
    # Extra request shapes over a sample: DO, RD, small and large sizes.
    sample = rng.sample(cases, 120)
    for case, shape in zip(sample, (EDNS_DO_RD, EDNS512, EDNS4096, TCP_EDNS) * 30, strict=True):
        out.append(Case(mixed_case(case.qname, rng), case.qtype, shape))
    return _dedup(out)


def _dedup(cases: list[Case]) -> list[Case]:
    seen: set[str] = set()
    out = []
    for case in cases:
        key = case.id
        if key not in seen:
            seen.add(key)
            out.append(case)
    return out
