"""Name what an upstream response means, keeping only data the server may speak for.

``classify`` turns one response into ANSWER / CNAME / REFERRAL / NXDOMAIN / NODATA / LAME /
THROWAWAY. Only records inside the *bailiwick* (the zone we asked the server about) are
looked at; anything else in the packet is ignored, which is the classic defence against
cache poisoning by additional or out-of-zone data. Glue is accepted only for the names the
referral's NS records point to, and only when it too is inside the bailiwick.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset

A, AAAA, NS, CNAME, DNAME, SOA = (
    dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.NS, dns.rdatatype.CNAME,
    dns.rdatatype.DNAME, dns.rdatatype.SOA,
)
MAX_LINKS = 32  # CNAME/DNAME links read from one response


class Kind(enum.Enum):
    ANSWER = "answer"  # the data asked for (possibly after a chain)
    CNAME = "cname"  # a chain that leaves the bailiwick: go on resolving ``target``
    REFERRAL = "referral"  # a delegation to a child zone
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    LAME = "lame"  # the server does not serve the zone: REFUSED, or an upward referral
    THROWAWAY = "throwaway"  # an error or nonsense: try another server


@dataclass(frozen=True, slots=True)
class Classified:
    kind: Kind
    chain: tuple[dns.rrset.RRset, ...] = ()  # CNAME, DNAME and answer RRsets, in order
    target: dns.name.Name | None = None  # the last name of the chain
    soa: dns.rrset.RRset | None = None  # negative answers
    cut: dns.name.Name | None = None  # REFERRAL: the child zone
    ns: dns.rrset.RRset | None = None
    glue: tuple[dns.rrset.RRset, ...] = ()
    authoritative: bool = False
    reason: str = ""


def classify(
    response: dns.message.Message,
    qname: dns.name.Name,
    qtype: int,
    zone: dns.name.Name,
    *,
    forwarding: bool = False,
) -> Classified:
    """What ``response`` (to ``qname``/``qtype`` sent to a server for ``zone``) tells us."""
    rcode = response.rcode()
    aa = bool(response.flags & dns.flags.AA)
    if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
        return Classified(Kind.LAME, reason=dns.rcode.to_text(rcode))
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return Classified(Kind.THROWAWAY, reason=dns.rcode.to_text(rcode))
    chain, name, found = _chain(response, qname, qtype, zone)
    soa = _soa(response, name, zone)
    if found:
        return Classified(Kind.ANSWER, tuple(chain), name, authoritative=aa)
    if chain:
        if name.is_subdomain(zone) and rcode == dns.rcode.NXDOMAIN:
            return Classified(Kind.NXDOMAIN, tuple(chain), name, soa, authoritative=aa)
        if name.is_subdomain(zone) and soa is not None and not _referral_ns(response, name, zone):
            return Classified(Kind.NODATA, tuple(chain), name, soa, authoritative=aa)
        return Classified(Kind.CNAME, tuple(chain), name, authoritative=aa)
    if rcode == dns.rcode.NXDOMAIN:
        return Classified(Kind.NXDOMAIN, (), qname, soa, authoritative=aa)
    ns = _referral_ns(response, qname, zone)
    if ns is not None and soa is None and not (aa and ns.name == qname and qtype == NS):
        if forwarding:
            return Classified(Kind.LAME, reason="referral from a forwarder")
        if ns.name == zone or not ns.name.is_subdomain(zone):
            return Classified(Kind.LAME, reason=f"referral to {ns.name} from {zone}")
        return Classified(Kind.REFERRAL, cut=ns.name, ns=ns, glue=_glue(response, ns, zone))
    if soa is not None or aa:
        return Classified(Kind.NODATA, (), qname, soa, authoritative=aa)
    upward = _upward_ns(response, zone)
    if upward:
        return Classified(Kind.LAME, reason="upward referral")
    return Classified(Kind.LAME, reason="empty non-authoritative answer")


def _chain(
    response: dns.message.Message, qname: dns.name.Name, qtype: int, zone: dns.name.Name
) -> tuple[list[dns.rrset.RRset], dns.name.Name, bool]:
    """Follow CNAME/DNAME links from ``qname`` through the answer section, in bailiwick."""
    answers = [r for r in response.answer if r.name.is_subdomain(zone) and r.rdclass == 1]
    chain: list[dns.rrset.RRset] = []
    name = qname
    seen = {name}
    for _ in range(MAX_LINKS):
        if not name.is_subdomain(zone):
            break
        data = _find(answers, name, qtype)
        if data is not None:
            chain.append(data)
            return chain, name, True
        dname = next(
            (r for r in answers if r.rdtype == DNAME and name.is_subdomain(r.name)
             and name != r.name),
            None,
        )
        if dname is not None:
            try:
                target = name.relativize(dname.name).concatenate(dname[0].target)
            except dns.name.NameTooLong:
                break
            chain.append(dname)
            chain.append(synthesized_cname(name, target, dname.ttl))
        else:
            cname = _find(answers, name, CNAME)
            if cname is None:
                break
            chain.append(cname)
            target = cname[0].target
        if target in seen:
            break
        seen.add(target)
        name = target
    return chain, name, False


def _find(
    rrsets: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int
) -> dns.rrset.RRset | None:
    for rrset in rrsets:
        if rrset.rdtype == rdtype and rrset.name == name:
            return rrset
    return None


def synthesized_cname(name: dns.name.Name, target: dns.name.Name, ttl: int) -> dns.rrset.RRset:
    """The CNAME a DNAME stands for (RFC 6672 §3.2): we trust the DNAME, not the server's CNAME."""
    cname = dns.rrset.RRset(name, dns.rdataclass.IN, CNAME)
    cname.add(dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, CNAME, target), ttl)
    return cname


def _soa(
    response: dns.message.Message, name: dns.name.Name, zone: dns.name.Name
) -> dns.rrset.RRset | None:
    for rrset in response.authority:
        if (rrset.rdtype == SOA and rrset.name.is_subdomain(zone)
                and name.is_subdomain(rrset.name) and len(rrset)):
            return rrset
    return None


def _referral_ns(
    response: dns.message.Message, name: dns.name.Name, zone: dns.name.Name
) -> dns.rrset.RRset | None:
    """The NS RRset in the authority section for ``name`` or one of its ancestors."""
    for rrset in response.authority:
        if rrset.rdtype == NS and name.is_subdomain(rrset.name) and len(rrset):
            return rrset
    return None


def _upward_ns(response: dns.message.Message, zone: dns.name.Name) -> bool:
    return any(r.rdtype == NS and zone.is_subdomain(r.name) for r in response.authority)


def _glue(
    response: dns.message.Message, ns: dns.rrset.RRset, zone: dns.name.Name
) -> tuple[dns.rrset.RRset, ...]:
    targets = {rd.target for rd in ns}
    return tuple(
        r for r in response.additional
        if r.rdtype in (A, AAAA) and r.name in targets and r.name.is_subdomain(zone)
        and r.rdclass == 1
    )
