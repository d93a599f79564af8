"""The recursion cases: one question each, with the rcode and answer RRsets a correct resolver
gives on the offline tree (``tree.py``). Shared by the scenario test, the Unbound interop
test and the benchmark."""

from __future__ import annotations

import time
from dataclasses import dataclass

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

BIG = " ".join(f'"b{i:02d}{"y" * 190}"' for i in range(4))
HUGE = " ".join(f'"h{i:02d}{"x" * 190}"' for i in range(15))
OLD_BIG = " ".join(f'"{i:02d}{"z" * 150}"' for i in range(5))


@dataclass(frozen=True)
class Case:
    qname: str
    qtype: str
    rcode: str
    answer: tuple[str, ...] = ()  # "owner TYPE rdata", one line per record
    why: str = ""


C = Case
CASES: tuple[Case, ...] = (
    C("www.example.test.", "A", "NOERROR", ("www.example.test. A 127.0.0.10",), "glued SLD"),
    C("www.example.test.", "AAAA", "NOERROR", ("www.example.test. AAAA 2001:db8::10",)),
    C("example.test.", "NS", "NOERROR",
      ("example.test. NS ns1.example.test.", "example.test. NS ns2.example.test.")),
    C("example.test.", "SOA", "NOERROR",
      ("example.test. SOA ns1.example.test. admin.example.test. 1 3600 600 86400 30",)),
    C("mail.example.test.", "MX", "NOERROR", ("mail.example.test. MX 10 www.example.test.",)),
    C("txt.example.test.", "TXT", "NOERROR", ('txt.example.test. TXT "hello" "world"',)),
    C("WwW.ExAmPlE.TeSt.", "A", "NOERROR", ("www.example.test. A 127.0.0.10",), "mixed case"),
    C("alias.example.test.", "A", "NOERROR",
      ("alias.example.test. CNAME www.example.test.", "www.example.test. A 127.0.0.10")),
    C("chain.example.test.", "A", "NOERROR",
      ("chain.example.test. CNAME a.other.test.", "a.other.test. CNAME b.glueless.test.",
       "b.glueless.test. A 127.0.0.30"), "CNAME chain across three zones, one glueless"),
    C("dangling.example.test.", "A", "NXDOMAIN",
      ("dangling.example.test. CNAME nosuch.other.test.",), "RFC 6604: last name's rcode"),
    C("tonodata.example.test.", "MX", "NOERROR",
      ("tonodata.example.test. CNAME www.other.test.",), "chain ending in NODATA"),
    C("nosuch.example.test.", "A", "NXDOMAIN", (), "NXDOMAIN at SLD"),
    C("www.example.test.", "TXT", "NOERROR", (), "NODATA at SLD"),
    C("ent.example.test.", "A", "NOERROR", (), "empty non-terminal"),
    C("a.b.c.d.e.f.g.example.test.", "A", "NOERROR",
      ("a.b.c.d.e.f.g.example.test. A 127.0.0.12",), "deep name, QNAME minimisation"),
    C("nosuch.test.", "A", "NXDOMAIN", (), "NXDOMAIN at TLD"),
    C("test.", "TXT", "NOERROR", (), "NODATA at TLD"),
    C("nosuchtld.", "A", "NXDOMAIN", (), "NXDOMAIN at root"),
    C(".", "TXT", "NOERROR", (), "NODATA at root"),
    C(".", "NS", "NOERROR", (". NS a.root-servers.test.",)),
    C("ns1.nic.test.", "A", "NOERROR", ("ns1.nic.test. A 127.0.41.1",)),
    C("www.other.test.", "A", "NOERROR", ("www.other.test. A 127.0.0.20",)),
    C("www.glueless.test.", "A", "NOERROR", ("www.glueless.test. A 127.0.0.31",),
      "glueless delegation"),
    C("ns2.provider.alt.", "A", "NOERROR", ("ns2.provider.alt. A 127.0.43.1",)),
    C("www.sub.example.test.", "A", "NOERROR", ("www.sub.example.test. A 127.0.0.32",),
      "child zone whose server is named in a sibling zone"),
    C("sub.example.test.", "NS", "NOERROR", ("sub.example.test. NS ns.other.test.",)),
    C("www.d.example.test.", "A", "NOERROR",
      ("d.example.test. DNAME other.test.", "www.d.example.test. CNAME www.other.test.",
       "www.other.test. A 127.0.0.20"), "DNAME into another zone"),
    C("nosuch.d.example.test.", "A", "NXDOMAIN",
      ("d.example.test. DNAME other.test.", "nosuch.d.example.test. CNAME nosuch.other.test.")),
    C("x.wild.test.", "A", "NOERROR", ("x.wild.test. A 127.0.0.40",), "wildcard"),
    C("x.wild.test.", "TXT", "NOERROR", ('x.wild.test. TXT "wild"',)),
    C("x.wild.test.", "MX", "NOERROR", (), "wildcard NODATA"),
    C("a.b.wild.test.", "A", "NOERROR", ("a.b.wild.test. A 127.0.0.40",)),
    C("exact.wild.test.", "A", "NOERROR", ("exact.wild.test. A 127.0.0.41",)),
    C("big.example.test.", "TXT", "NOERROR", (f"big.example.test. TXT {BIG}",),
      "over 512 bytes"),
    C("huge.example.test.", "TXT", "NOERROR", (f"huge.example.test. TXT {HUGE}",),
      "over 1232 bytes: TC, then TCP upstream"),
    C("www.shortneg.test.", "A", "NOERROR", ("www.shortneg.test. A 127.0.0.60",)),
    C("nosuch.shortneg.test.", "A", "NXDOMAIN"),
    C("www.half.test.", "A", "NOERROR", ("www.half.test. A 127.0.0.50",),
      "two servers, one dead"),
    C("www.slow.test.", "A", "NOERROR", ("www.slow.test. A 127.0.0.74",), "answers after 1.2 s"),
    C("www.flaky.test.", "A", "NOERROR", ("www.flaky.test. A 127.0.0.75",),
      "drops every other packet"),
    C("two.flaky.test.", "A", "NOERROR", ("two.flaky.test. A 127.0.0.76",)),
    C("www.noedns.test.", "A", "NOERROR", ("www.noedns.test. A 127.0.0.76",),
      "FORMERR to EDNS"),
    C("big.noedns.test.", "TXT", "NOERROR", (f"big.noedns.test. TXT {OLD_BIG}",),
      "no EDNS and over 512 bytes: TCP"),
    C("www.poison.test.", "A", "NOERROR", ("www.poison.test. A 127.0.0.70",),
      "out-of-bailiwick data ignored"),
    C("cname.poison.test.", "A", "NOERROR",
      ("cname.poison.test. CNAME www.other.test.", "www.other.test. A 127.0.0.20"),
      "forged target address ignored"),
    C("www.spoof.test.", "A", "NOERROR", ("www.spoof.test. A 127.0.0.80",),
      "wrong ID and wrong question ignored"),
    C("www.internal.", "A", "NXDOMAIN", (), "not delegated from the root"),
    C("www.dead.test.", "A", "SERVFAIL", (), "dead server"),
    C("www.refused.test.", "A", "SERVFAIL", (), "lame: REFUSED"),
    C("www.lame.test.", "A", "SERVFAIL", (), "lame: non-AA referral to itself"),
    C("www.unreach.test.", "A", "SERVFAIL", (), "nothing listening (ICMP)"),
    C("x.nxns.test.", "A", "SERVFAIL", (), "NXNSAttack: 30 glueless names, all NXDOMAIN"),
    C("l0.example.test.", "A", "SERVFAIL", (), "CNAME chain of 20 links"),
    C("loop.example.test.", "A", "SERVFAIL", (), "CNAME loop across two zones"),
)


def normalise(message: dns.message.Message) -> tuple[str, tuple[str, ...]]:
    """(rcode, sorted answer records without TTLs, owner names lowercased)."""
    lines = []
    for rrset in message.answer:
        for rdata in rrset:
            owner = rrset.name.to_text().lower()
            lines.append(f"{owner} {dns.rdatatype.to_text(rrset.rdtype)} {rdata.to_text()}")
    return dns.rcode.to_text(message.rcode()), tuple(sorted(lines))


def expected(case: Case) -> tuple[str, tuple[str, ...]]:
    lines = []
    for line in case.answer:
        owner, rdtype, rdata = line.split(None, 2)
        parsed = dns.rrset.from_text(owner, 0, "IN", rdtype, rdata)
        lines.extend(f"{owner.lower()} {rdtype} {rd.to_text()}" for rd in parsed)
    return case.rcode, tuple(sorted(lines))


def ask(
    host: str, port: int, qname: str, qtype: str, timeout: float = 5.0, source: str | None = None
) -> tuple[dns.message.Message, float]:
    """One client query as a stub sends it: EDNS 1232 over UDP, TCP on TC."""
    request = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    started = time.monotonic()
    response = dns.query.udp(request, host, port=port, timeout=timeout, source=source)
    if response.flags & dns.flags.TC:
        response = dns.query.tcp(request, host, port=port, timeout=timeout, source=source)
    return response, time.monotonic() - started


def ede_codes(message: dns.message.Message) -> list[int]:
    return [o.code for o in message.options if isinstance(o, dns.edns.EDEOption)]
