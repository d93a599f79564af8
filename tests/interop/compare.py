"""Our answer against a reference server's, with the differences the issue allows.

Everything is compared exactly (rcode, flags, and the three sections as sets of RRsets with
TTLs, names case-insensitively) except where a reference server is free to answer otherwise.
Each allowance below says why it is allowed and what must still hold; :data:`ACCEPTED` counts
how often each one was used, per reference server, for the run's summary.

1. ``authority-ns``: NS of the zone in the authority section of a positive answer. NSD adds
   them (unless ``minimal-responses``), Knot and we do not; RFC 2181 §6.1 / RFC 1034 §4.3.2
   make them optional. Any NS we do send must equal the reference's.
2. ``additional``: which addresses of NS/MX/SRV/SVCB targets go in the additional section is
   each server's policy (RFC 2181 §9, RFC 1034 §4.3.2 step 6: "MAY"). What both send must be
   identical; what only one sends must be A/AAAA of a target named in that response; what only
   we send is checked against the reference's own data for that name. In-domain glue in a
   referral is not optional (RFC 9471) and must appear in both.
3. ``any``: RFC 8482 lets a server pick which RRset(s) answer ANY. Knot picks the lowest type,
   NSD one of its own choosing, we the first in zone-file order. We must send exactly one
   RRset (or the CNAME), owned by the query name, holding the reference's data for its type.
4. ``chase``: a CNAME (or a DNAME's synthesized CNAME) into another zone served here. The issue
   asks us to follow it, as BIND and NSD do; Knot stops at the zone boundary. The reference's
   answer is completed by asking it for the target (same shape), and ours must equal that.
5. ``chain-limit``: how many CNAME links a server follows is not fixed by any RFC. Knot stops
   after 5, NSD when the packet is full, we after ``MAX_CHAIN`` (16). Where the reference
   stops early, its answer is completed as in 4; where the full chain is longer than ours,
   ours must be its first ``MAX_CHAIN`` links, NOERROR, with nothing after.
6. ``glue-tc``: RFC 9471 (2023): a referral whose in-domain glue does not all fit sets TC.
   Knot does; NSD 4.6 (older than the RFC) sends what fits without TC. Where we set TC and
   the reference did not, its answer must lack some in-domain glue that its TCP answer has,
   and over TCP both must agree.
7. ``dname-yxdomain``: a DNAME substitution that would make a name longer than 255 octets is
   YXDOMAIN (RFC 6672 §2.2). NSD and we do that; Knot 3.2 answers NXDOMAIN with the SOA. The
   DNAME itself must still be the reference's, and nothing else may follow it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import dns.name
import dns.rcode
import dns.rdatatype

from resolver.authority.stage import MAX_CHAIN
from resolver.codec import OUR_UDP_PAYLOAD
from tests.interop.cases import TCP, TCP_EDNS, Case
from tests.interop.wire import RRsets, View

Ask = Callable[[Case], View]
TARGET_TYPES = {"NS": 0, "MX": 1, "SRV": 3, "SVCB": 1, "HTTPS": 1}  # index of the target
ADDRESS_TYPES = ("A", "AAAA")

ACCEPTED: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()


def accept(reference: str, rule: str) -> None:
    with _lock:
        ACCEPTED[(reference, rule)] += 1


@dataclass
class Reference:
    """A reference server as the comparison sees it: a name, a way to ask it, our zones."""

    name: str
    ask: Ask
    origins: tuple[dns.name.Name, ...]

    def apexes(self) -> set[str]:
        return {origin.to_text().lower() for origin in self.origins}

    def served(self, owner: str) -> bool:
        name = dns.name.from_text(owner)
        return any(name.is_subdomain(origin) for origin in self.origins)


def compare(case: Case, ours: View, theirs: View, ref: Reference, ask_ours: Ask) -> list[str]:
    """Problems with our answer to ``case``, given the reference's; empty when acceptable."""
    problems = check_ours(case, ours)
    if ours.tc or theirs.tc:
        if ours.tc and not theirs.tc and _glue_tc(case, theirs, ref):
            accept(ref.name, "glue-tc")
            tcp = over_tcp(case)
            return problems + compare(tcp, ask_ours(tcp), ref.ask(tcp), ref, ask_ours)
        # A truncated answer says only "ask over TCP": compare rcode and TC.
        if (ours.rcode, ours.tc) != (theirs.rcode, theirs.tc):
            problems.append(f"rcode/TC: ours {ours.rcode}/{ours.tc}, "
                            f"{ref.name} {theirs.rcode}/{theirs.tc}")
        return problems
    expected = complete_chain(case, theirs, ref)
    expected = limit_chain(case, expected, ref)
    expected = _dname_yxdomain(case, ours, expected, ref)
    if ours.rcode != expected.rcode:
        problems.append(f"rcode: ours {ours.rcode}, {ref.name} {expected.rcode}")
    if ours.flags != expected.flags:
        problems.append(f"flags: ours {sorted(ours.flags)}, {ref.name} {sorted(expected.flags)}")
    if case.qtype == "ANY":
        problems += _compare_any(case, ours, expected, ref)
    elif ours.answer != expected.answer:
        problems.append(f"answer differs from {ref.name}")
    problems += _compare_authority(ours, expected, ref)
    problems += _compare_additional(ours, expected, ref)
    return problems


# Our own invariants, whatever the references say -------------------------------------------
def check_ours(case: Case, ours: View) -> list[str]:
    problems = []
    sent = dns.name.from_text(case.qname).labels
    if ours.question != (sent, dns.rdatatype.from_text(case.qtype)):
        problems.append(f"question not echoed as sent: {ours.question}")
    if "RA" in ours.flags:
        problems.append("RA set without recursion")
    if case.shape.payload is None:
        if ours.opt is not None:
            problems.append("OPT in the reply to a query without EDNS")
    elif ours.opt is None:
        problems.append("no OPT in the reply to an EDNS query")
    else:
        if ours.opt.version != 0:
            problems.append(f"EDNS version {ours.opt.version} in the reply")
        if ours.opt.payload != OUR_UDP_PAYLOAD:
            problems.append(f"our UDP payload is {ours.opt.payload}, not {OUR_UDP_PAYLOAD}")
        if ours.opt.do != case.shape.do:
            problems.append("DO bit not echoed (RFC 3225 §3)")
    if ("RD" in ours.flags) != case.shape.rd:
        problems.append("RD not copied from the query")
    return problems


# 4 and 5: CNAME chains ----------------------------------------------------------------------
def chain_end(qname: str, answer: RRsets) -> tuple[list[str], str]:
    """The CNAME owners from ``qname`` along the answer section, and the name it ends at."""
    owners: list[str] = []
    name = qname.lower()
    while (name, "CNAME") in answer and name not in owners:
        owners.append(name)
        name = next(iter(answer[(name, "CNAME")][1]))
    return owners, name


def complete_chain(case: Case, theirs: View, ref: Reference) -> View:
    """``theirs``, with a chain that stops at a name we serve followed to its end (rules 4, 5)."""
    view = theirs
    if case.qtype == "CNAME":
        return view  # the first CNAME is the answer
    for _ in range(4 * MAX_CHAIN):
        owners, end = chain_end(case.qname, view.answer)
        if not owners or owners[-1] == end or end in owners or view.tc:
            return view
        if not _dangling(view, end, case.qtype, ref):
            return view
        more = ref.ask(replace(case, qname=end))
        cross = _zone_of(end, ref) != _zone_of(owners[-1], ref)
        accept(ref.name, "chase" if cross else "chain-limit")
        view = replace(
            view, rcode=more.rcode, answer={**view.answer, **more.answer},
            authority=more.authority, additional={**view.additional, **more.additional},
            flags=view.flags | (more.flags & {"TC"}),
        )
    return view


def _dangling(view: View, end: str, qtype: str, ref: Reference) -> bool:
    """The chain ends at a served name whose answer the reference did not give."""
    if view.rcode != 0 or not ref.served(end) or any(k[0] == end for k in view.answer):
        return False
    if any(rdtype in ("SOA", "NS") for _, rdtype in view.authority):
        return False  # the reference concluded: NODATA, NXDOMAIN or a referral
    return True


def _zone_of(owner: str, ref: Reference) -> dns.name.Name | None:
    name = dns.name.from_text(owner)
    best = None
    for origin in ref.origins:
        if name.is_subdomain(origin) and (best is None or len(origin) > len(best)):
            best = origin
    return best


def limit_chain(case: Case, expected: View, ref: Reference) -> View:
    """Where the full chain has more links than we follow, what we answer instead (rule 5)."""
    owners, _ = chain_end(case.qname, expected.answer)
    if len(owners) <= MAX_CHAIN:
        return expected
    accept(ref.name, "chain-limit")
    kept = {(o, "CNAME"): expected.answer[(o, "CNAME")] for o in owners[:MAX_CHAIN]}
    return replace(expected, rcode=0, answer=kept, authority={}, additional={})


# 7: DNAME overflow ---------------------------------------------------------------------------
def _dname_yxdomain(case: Case, ours: View, expected: View, ref: Reference) -> View:
    if ours.rcode != dns.rcode.YXDOMAIN or expected.rcode != dns.rcode.NXDOMAIN:
        return expected
    if (case.qname.lower(), "CNAME") in expected.answer:
        return expected
    if not any(rdtype == "DNAME" for _, rdtype in expected.answer):
        return expected
    accept(ref.name, "dname-yxdomain")
    return replace(expected, rcode=dns.rcode.YXDOMAIN, authority={})


# 1: authority -------------------------------------------------------------------------------
def _compare_authority(ours: View, expected: View, ref: Reference) -> list[str]:
    mine, theirs = dict(ours.authority), dict(expected.authority)
    if expected.answer and expected.rcode == 0 and expected.aa:
        # Only a zone's own NS (at a served apex); NS at a cut after a CNAME is a referral.
        apexes = ref.apexes()
        for key in [k for k in theirs if k[1] == "NS" and k[0] in apexes]:
            if key in mine and mine[key] != theirs[key]:
                return [f"authority NS differs from {ref.name}: {mine[key]} {theirs[key]}"]
            accept(ref.name, "authority-ns")
            mine.pop(key, None)
            theirs.pop(key)
        for key in [k for k in mine if k[1] == "NS" and k[0] in apexes]:
            return [f"authority NS {key} in a positive answer, {ref.name} has none"]
    if mine != theirs:
        return [f"authority differs from {ref.name}"]
    return []


# 2: additional ------------------------------------------------------------------------------
def targets(view: View) -> set[str]:
    """Names whose addresses a server may add: targets of NS/MX/SRV/SVCB in the response."""
    out = set()
    for section in (view.answer, view.authority):
        for (_, rdtype), (_, rdatas) in section.items():
            index = TARGET_TYPES.get(rdtype)
            if index is None:
                continue
            for rdata in rdatas:
                fields = rdata.split()
                if len(fields) > index:
                    out.add(fields[index].lower())
    return out


def required_glue(view: View, ref: Reference) -> set[str]:
    """In a referral, the names of its name servers that are below the cut (RFC 9471).

    NS at the apex of a zone served here are no cut: NSD sends them in positive answers."""
    apexes = ref.apexes()
    cuts = [owner for owner, rdtype in view.authority if rdtype == "NS" and owner not in apexes]
    return {t for t in targets(view) for cut in cuts
            if dns.name.from_text(t).is_subdomain(dns.name.from_text(cut))}


def _compare_additional(ours: View, expected: View, ref: Reference) -> list[str]:
    problems = []
    glue = required_glue(expected, ref)
    for key in ours.additional.keys() | expected.additional.keys():
        mine, theirs = ours.additional.get(key), expected.additional.get(key)
        if mine is not None and theirs is not None:
            if mine != theirs:
                problems.append(f"additional {key}: ours {mine}, {ref.name} {theirs}")
            continue
        owner, rdtype = key
        if owner in glue:
            problems.append(f"in-domain glue {key} only in {'ours' if mine else ref.name}")
        elif rdtype not in ADDRESS_TYPES:
            problems.append(f"additional {key} is not an address record")
        elif mine is None:
            if owner not in targets(expected):
                problems.append(f"{ref.name} additional {key} is no target (suite bug?)")
            accept(ref.name, "additional")
        elif owner not in targets(ours):
            problems.append(f"our additional {key} is not the address of a target")
        elif not _confirmed(owner, rdtype, mine, ref):
            problems.append(f"our additional {key} {mine} is not {ref.name}'s data")
        else:
            accept(ref.name, "additional")
    return problems


def _confirmed(owner: str, rdtype: str, rrset: tuple[int, frozenset[str]], ref: Reference) -> bool:
    """The reference holds this RRset: in an answer for it, or as glue in its referral."""
    reply = ref.ask(Case(owner, rdtype, TCP))
    return rrset in (reply.answer.get((owner, rdtype)), reply.additional.get((owner, rdtype)))


# 3: ANY -------------------------------------------------------------------------------------
def _compare_any(case: Case, ours: View, expected: View, ref: Reference) -> list[str]:
    qname = case.qname.lower()
    if not expected.answer or (qname, "CNAME") in expected.answer:
        return [] if ours.answer == expected.answer else [f"ANY answer differs from {ref.name}"]
    if len(ours.answer) != 1:
        return [f"ANY: {len(ours.answer)} RRsets, not one (RFC 8482)"]
    (owner, rdtype), rrset = next(iter(ours.answer.items()))
    if owner != qname:
        return [f"ANY answered with {owner}, not the query name"]
    if expected.answer.get((owner, rdtype), rrset) != rrset:
        return [f"ANY {rdtype} differs from {ref.name}"]
    if (owner, rdtype) not in expected.answer:
        accept(ref.name, "any")
        reply = ref.ask(Case(case.qname, rdtype, TCP))
        if reply.answer.get((owner, rdtype)) != rrset:
            return [f"ANY {rdtype} {rrset} is not {ref.name}'s data"]
    return []


# 6: TC for glue -----------------------------------------------------------------------------
def _glue_tc(case: Case, theirs: View, ref: Reference) -> bool:
    """The reference sent a referral without all its in-domain glue, and no TC (rule 6)."""
    if theirs.aa or not any(rdtype == "NS" for _, rdtype in theirs.authority):
        return False
    full = ref.ask(over_tcp(case))
    glue = required_glue(full, ref)
    missing = [k for k in full.additional if k[0] in glue and k not in theirs.additional]
    return bool(missing)


def over_tcp(case: Case) -> Case:
    return replace(case, shape=TCP_EDNS if case.shape.payload else TCP)
