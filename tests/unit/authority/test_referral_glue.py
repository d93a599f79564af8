"""Truncation of referrals (RFC 9471): in-domain glue that does not fit sets TC; other
additional data is simply left out (RFC 2181 §9)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset

from resolver import codec
from resolver.model import Answer, Client, Query

CUT = "deleg.example.test."


def _query(transport: str) -> Query:
    return Query(1, dns.name.from_text("www." + CUT), dns.rdatatype.A, 1, 0, False, False, None,
                 Client("127.0.0.1", 53000, transport))


def _referral(glue_owner_suffix: str) -> Answer:
    ns = dns.rrset.from_text_list(
        CUT, 3600, "IN", "NS", [f"ns{i:02d}.{glue_owner_suffix}" for i in range(13)]
    )
    additional = []
    for i in range(13):
        owner = f"ns{i:02d}.{glue_owner_suffix}"
        additional.append(dns.rrset.from_text(owner, 3600, "IN", "A", f"192.0.2.{i + 1}"))
        additional.append(dns.rrset.from_text(owner, 3600, "IN", "AAAA", f"2001:db8::{i + 1}"))
    return Answer(authority=(ns,), additional=tuple(additional), stage="authority")


def test_in_domain_glue_that_does_not_fit_sets_tc() -> None:
    wire = codec.encode(_query("udp"), _referral(CUT))
    reply = dns.message.from_wire(wire)
    assert reply.flags & dns.flags.TC
    assert len(wire) <= 512


def test_the_whole_referral_goes_over_tcp() -> None:
    reply = dns.message.from_wire(codec.encode(_query("tcp"), _referral(CUT)))
    assert not reply.flags & dns.flags.TC
    assert len(reply.additional) == 26


def test_sibling_glue_is_optional() -> None:
    """Name servers outside the cut: what does not fit is left out, without TC."""
    wire = codec.encode(_query("udp"), _referral("example.test."))
    reply = dns.message.from_wire(wire)
    assert not reply.flags & dns.flags.TC
    assert reply.authority and 0 < len(reply.additional) < 26
    assert len(wire) <= 512
