"""Caching on the offline tree: TTLs decrement and expire, negative answers are cached from
the SOA, identical questions in flight are coalesced, and work limits hold."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import dns.rcode
import dns.rdatatype

from tests.scenarios.cases import ask, ede_codes, normalise
from tests.scenarios.tree import Tree
from tests.support.server import ResolverProcess


def _answer_ttl(response) -> int:  # type: ignore[no-untyped-def]
    return response.answer[-1].ttl


def test_ttl_decrements_and_hits_do_not_go_upstream(ours: ResolverProcess, tree: Tree) -> None:
    server = tree.bad["127.0.44.11"]
    first, _ = ask(ours.host, ours.port, "long.toggle.test.", "A")
    before = server.queries
    time.sleep(2.2)
    second, _ = ask(ours.host, ours.port, "long.toggle.test.", "A")
    assert normalise(second) == ("NOERROR", ("long.toggle.test. A 127.0.0.83",))
    assert server.queries == before, "answered from the cache"
    assert _answer_ttl(first) <= 300
    assert _answer_ttl(second) <= _answer_ttl(first) - 2


def test_short_ttl_expires(ours: ResolverProcess, tree: Tree) -> None:
    server = tree.bad["127.0.44.11"]
    first, _ = ask(ours.host, ours.port, "www.toggle.test.", "A")
    assert normalise(first) == ("NOERROR", ("www.toggle.test. A 127.0.0.81",))
    assert _answer_ttl(first) <= 2
    before = server.queries
    time.sleep(3.2)
    again, _ = ask(ours.host, ours.port, "www.toggle.test.", "A")
    assert normalise(again) == normalise(first)
    assert server.queries > before, "expired data is fetched again"


def test_negative_answers_are_cached_with_the_soa_ttl(ours: ResolverProcess, tree: Tree) -> None:
    server = tree.bad["127.0.44.11"]
    for qname, qtype, rcode in (("nosuch.toggle.test.", "A", dns.rcode.NXDOMAIN),
                                ("long.toggle.test.", "TXT", dns.rcode.NOERROR)):
        first, _ = ask(ours.host, ours.port, qname, qtype)
        before = server.queries
        second, _ = ask(ours.host, ours.port, qname, qtype)
        assert first.rcode() == second.rcode() == rcode and not second.answer
        assert server.queries == before, f"{qname} {qtype}: negative answer cached"
        soa = [r for r in second.authority if r.rdtype == dns.rdatatype.SOA]
        assert soa and soa[0].ttl <= 30, "negative TTL = min(SOA TTL, MINIMUM), decremented"


def test_identical_questions_in_flight_are_coalesced(ours: ResolverProcess, tree: Tree) -> None:
    server = tree.bad["127.0.44.4"]  # answers after 1.2 s
    before = server.queries
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(
            lambda _: ask(ours.host, ours.port, "coalesce.slow.test.", "A", timeout=8)[0],
            range(20)))
    assert all(normalise(a) == ("NOERROR", ("coalesce.slow.test. A 127.0.0.78",))
               for a in answers)
    assert server.queries - before <= 3, "one resolution (and its retries) for 20 clients"


def test_nxns_amplification_is_bounded(ours: ResolverProcess, tree: Tree) -> None:
    victim = tree.bad["127.0.44.9"]
    before = victim.queries
    response, _ = ask(ours.host, ours.port, "y.nxns.test.", "A")
    assert response.rcode() == dns.rcode.SERVFAIL
    assert ede_codes(response)
    assert victim.queries - before <= 10, "glueless lookups per client query are capped"


def test_cname_chain_limit_says_why(ours: ResolverProcess) -> None:
    response, _ = ask(ours.host, ours.port, "l1.other.test.", "A")
    assert response.rcode() == dns.rcode.SERVFAIL
    assert ede_codes(response) == [0]
    assert "CNAME chain" in response.options[0].text
