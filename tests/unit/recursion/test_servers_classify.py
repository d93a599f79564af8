"""Server statistics and response classification."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset

from resolver.recursion.classify import Kind, classify
from resolver.recursion.servers import Servers

ZONE = dns.name.from_text("test.")
QNAME = dns.name.from_text("www.example.test.")


def test_prefers_the_fast_server_and_backs_off_from_timeouts() -> None:
    servers = Servers()
    rng = random.Random(1)
    servers.on_rtt("10.0.0.1", 0.200)
    servers.on_rtt("10.0.0.2", 0.002)
    assert servers.choose(["10.0.0.1", "10.0.0.2"], ZONE, 0.0, rng, {}, 3) == "10.0.0.2"
    rto = servers.rto("10.0.0.2")
    servers.on_timeout("10.0.0.2", 0.0)
    assert servers.rto("10.0.0.2") == 2 * rto
    assert servers.choose(["10.0.0.1", "10.0.0.2"], ZONE, 0.0, rng, {}, 3) == "10.0.0.1"


def test_dead_server_is_held_down_then_probed_again() -> None:
    servers = Servers()
    for _ in range(3):
        servers.on_timeout("10.0.0.9", 0.0)
    assert not servers.usable("10.0.0.9", ZONE, 1.0)
    assert servers.usable("10.0.0.9", ZONE, 1000.0)


def test_lame_is_per_zone() -> None:
    servers = Servers()
    servers.mark_lame("10.0.0.5", ZONE, 0.0)
    assert not servers.usable("10.0.0.5", ZONE, 1.0)
    assert servers.usable("10.0.0.5", dns.name.from_text("other."), 1.0)


def _response(rcode: int = 0, aa: bool = False) -> dns.message.Message:
    query = dns.message.make_query(QNAME, "A")
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    return response


def test_referral_keeps_in_bailiwick_glue_only() -> None:
    response = _response()
    response.authority.append(dns.rrset.from_text(
        "example.test.", 300, "IN", "NS", "ns1.example.test.", "ns.elsewhere."))
    response.additional.append(dns.rrset.from_text("ns1.example.test.", 300, "IN", "A", "1.2.3.4"))
    response.additional.append(dns.rrset.from_text("ns.elsewhere.", 300, "IN", "A", "6.6.6.6"))
    response.additional.append(dns.rrset.from_text("www.bank.", 300, "IN", "A", "6.6.6.6"))
    found = classify(response, QNAME, 1, ZONE)
    assert found.kind is Kind.REFERRAL and found.cut == dns.name.from_text("example.test.")
    assert [g.name.to_text() for g in found.glue] == ["ns1.example.test."]


def test_out_of_bailiwick_answer_data_is_ignored() -> None:
    response = _response(aa=True)
    zone = dns.name.from_text("example.test.")
    response.answer.append(dns.rrset.from_text(QNAME, 300, "IN", "CNAME", "www.other."))
    response.answer.append(dns.rrset.from_text("www.other.", 300, "IN", "A", "6.6.6.6"))
    found = classify(response, QNAME, 1, zone)
    assert found.kind is Kind.CNAME
    assert found.target == dns.name.from_text("www.other.")
    assert [r.rdtype for r in found.chain] == [5]


def test_lame_answers() -> None:
    assert classify(_response(dns.rcode.REFUSED), QNAME, 1, ZONE).kind is Kind.LAME
    upward = _response()
    upward.authority.append(dns.rrset.from_text(".", 300, "IN", "NS", "a.root."))
    assert classify(upward, QNAME, 1, ZONE).kind is Kind.LAME
    self_referral = _response()
    self_referral.authority.append(dns.rrset.from_text("test.", 300, "IN", "NS", "ns.test."))
    assert classify(self_referral, QNAME, 1, ZONE).kind is Kind.LAME
    assert classify(_response(dns.rcode.SERVFAIL), QNAME, 1, ZONE).kind is Kind.THROWAWAY


def test_nxdomain_at_the_end_of_a_chain() -> None:
    response = _response(dns.rcode.NXDOMAIN, aa=True)
    response.answer.append(dns.rrset.from_text(QNAME, 300, "IN", "CNAME", "gone.test."))
    response.authority.append(dns.rrset.from_text(
        "test.", 300, "IN", "SOA", "ns.test. admin.test. 1 2 3 4 60"))
    found = classify(response, QNAME, 1, ZONE)
    assert found.kind is Kind.NXDOMAIN and found.target == dns.name.from_text("gone.test.")
    assert len(found.chain) == 1 and found.soa is not None


def test_dname_is_trusted_over_the_servers_cname() -> None:
    response = _response(aa=True)
    response.answer.append(dns.rrset.from_text("example.test.", 300, "IN", "DNAME", "other.test."))
    response.answer.append(dns.rrset.from_text(QNAME, 300, "IN", "CNAME", "evil.test."))
    response.answer.append(dns.rrset.from_text("www.other.test.", 300, "IN", "A", "192.0.2.7"))
    found = classify(response, QNAME, 1, ZONE)
    assert found.kind is Kind.ANSWER
    assert found.chain[1][0].target == dns.name.from_text("www.other.test.")
