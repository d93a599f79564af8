"""The sans-I/O resolution on a simulated network with a virtual clock."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from resolver.recursion.resolution import EDE_NO_REACHABLE_AUTHORITY, EDE_OTHER, from_cache
from tests.unit.recursion.fakenet import SLD, authority, basic_tree


def _texts(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.to_text() for r in result.answer]


def test_iterates_from_the_root_and_caches_the_cut() -> None:
    net = basic_tree()
    ctx = net.context()
    result = net.resolve(ctx, "www.example.test.")
    assert result.rcode == dns.rcode.NOERROR
    assert _texts(result) == ["www.example.test. 300 IN A 192.0.2.1"]
    assert [s.address for s in net.sent] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    net.sent.clear()
    net.resolve(ctx, "alias.example.test.")
    assert [s.address for s in net.sent] == ["10.0.0.3"], "a miss starts at the cached cut"


def test_qname_minimisation_sends_one_more_label_at_a_time() -> None:
    net = basic_tree()
    result = net.resolve(net.context(), "a.b.c.example.test.")
    assert _texts(result) == ["a.b.c.example.test. 300 IN A 192.0.2.2"]
    asked = [(s.address, s.qname.to_text(), dns.rdatatype.to_text(s.qtype)) for s in net.sent]
    assert asked[0] == ("10.0.0.1", "test.", "A")
    assert asked[1] == ("10.0.0.2", "example.test.", "A")
    assert asked[2] == ("10.0.0.3", "c.example.test.", "A")
    assert asked[-1] == ("10.0.0.3", "a.b.c.example.test.", "A")


def test_glueless_delegation_resolves_the_server_name_on_the_side() -> None:
    net = basic_tree()
    net.servers["10.0.0.3"] = _two_zones()
    result = net.resolve(net.context(), "www.glueless.test.")
    assert _texts(result) == ["www.glueless.test. 300 IN A 192.0.2.9"]


def _two_zones():  # type: ignore[no-untyped-def]
    example = authority("example.test.", SLD)
    glueless = authority("glueless.test.", """
@ 300 SOA ns.example.test. admin 1 3600 600 86400 30
@ 300 NS ns.example.test.
www 300 A 192.0.2.9
""")

    def respond(query: dns.message.Message) -> dns.message.Message:
        name = query.question[0].name
        zone = dns.name.from_text("glueless.test.")
        return glueless(query) if name.is_subdomain(zone) else example(query)

    return respond


def test_nxdomain_is_cached_with_the_soa_negative_ttl() -> None:
    net = basic_tree()
    ctx = net.context()
    result = net.resolve(ctx, "nosuch.example.test.")
    assert result.rcode == dns.rcode.NXDOMAIN
    assert result.authority[0].ttl == 30
    cached = from_cache(ctx.cache, dns.name.from_text("nosuch.example.test."), 16, net.now + 5)
    assert cached is not None and cached.rcode == dns.rcode.NXDOMAIN, "NXDOMAIN covers all types"
    assert cached.soa is not None and cached.soa.ttl == 25


def test_dead_zone_fails_with_ede_22_before_the_client_gives_up() -> None:
    net = basic_tree()
    del net.servers["10.0.0.3"]
    start = net.now
    result = net.resolve(net.context(), "www.example.test.")
    assert result.rcode == dns.rcode.SERVFAIL
    assert result.ede[0][0] == EDE_NO_REACHABLE_AUTHORITY
    assert net.now - start < 4.5


def test_held_down_server_fails_at_once() -> None:
    net = basic_tree()
    del net.servers["10.0.0.3"]
    ctx = net.context()
    net.resolve(ctx, "www.example.test.")
    start = net.now
    result = net.resolve(ctx, "www.example.test.")
    assert result.rcode == dns.rcode.SERVFAIL
    assert net.now - start < 0.1, "a dead server is held down, not waited on again"


def test_upstream_query_budget() -> None:
    net = basic_tree()
    result = net.resolve(net.context(max_queries=2), "www.example.test.")
    assert result.rcode == dns.rcode.SERVFAIL
    assert result.ede[0][0] == EDE_OTHER and "upstream queries" in result.ede[0][1]
    assert len(net.sent) == 2


def test_edns_fallback_for_a_server_that_rejects_opt() -> None:
    net = basic_tree()
    plain = net.servers["10.0.0.3"]

    def old_server(query: dns.message.Message) -> dns.message.Message:
        if query.edns >= 0:
            response = dns.message.make_response(query)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
            return response
        return plain(query)

    net.servers["10.0.0.3"] = old_server
    result = net.resolve(net.context(), "www.example.test.")
    assert _texts(result) == ["www.example.test. 300 IN A 192.0.2.1"]
    assert [s.edns for s in net.sent if s.address == "10.0.0.3"] == [True, False]


def test_refresh_ignores_the_cached_answer() -> None:
    net = basic_tree()
    ctx = net.context()
    net.resolve(ctx, "www.example.test.")
    net.sent.clear()
    net.resolve(ctx, "www.example.test.")
    assert net.sent == []
    net.resolve(ctx, "www.example.test.", refresh=True)
    assert [s.address for s in net.sent] == ["10.0.0.3"]
