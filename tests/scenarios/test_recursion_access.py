"""Who may recurse, one listener for authority and recursion, forwarding and serve-stale."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from tests.scenarios.cases import ask, ede_codes, normalise
from tests.scenarios.conftest import recursor
from tests.scenarios.tree import DATA, Tree
from tests.support.server import ResolverProcess


@pytest.fixture(scope="module")
def restricted(tree: Tree, empty_zones: Path) -> Iterator[ResolverProcess]:
    with recursor(empty_zones, "--allow-recursion", "127.0.0.2/32") as process:
        yield process


def test_recursion_only_for_allowed_networks(restricted: ResolverProcess) -> None:
    refused, _ = ask(restricted.host, restricted.port, "www.example.test.", "A")
    assert refused.rcode() == dns.rcode.REFUSED and not refused.answer
    assert not refused.flags & dns.flags.RA, "RA only where recursion is available"
    assert ede_codes(refused) == [18]
    allowed, _ = ask(restricted.host, restricted.port, "www.example.test.", "A",
                     source="127.0.0.2")
    assert normalise(allowed) == ("NOERROR", ("www.example.test. A 127.0.0.10",))
    assert allowed.flags & dns.flags.RA


def test_no_rd_is_not_answered_from_elsewhere(restricted: ResolverProcess) -> None:
    request = dns.message.make_query("www.example.test.", "A")
    request.flags &= ~dns.flags.RD
    response = dns.query.udp(request, restricted.host, port=restricted.port, timeout=5,
                             source="127.0.0.2")
    assert response.rcode() == dns.rcode.REFUSED


@pytest.fixture(scope="module")
def forwarder(tree: Tree, ours: ResolverProcess, empty_zones: Path) -> Iterator[ResolverProcess]:
    with recursor(empty_zones, "--forward", "internal.=127.0.43.1",
                  "--forward", f".=127.0.0.1:{ours.port}") as process:
        yield process


def test_forward_zone_to_a_server_the_root_does_not_know(forwarder: ResolverProcess) -> None:
    response, _ = ask(forwarder.host, forwarder.port, "www.internal.", "A")
    assert normalise(response) == ("NOERROR", ("www.internal. A 127.0.0.90",))


def test_forward_everything_to_an_upstream_resolver(forwarder: ResolverProcess) -> None:
    response, _ = ask(forwarder.host, forwarder.port, "chain.example.test.", "A")
    assert normalise(response) == ("NOERROR", (
        "a.other.test. CNAME b.glueless.test.", "b.glueless.test. A 127.0.0.30",
        "chain.example.test. CNAME a.other.test."))
    negative, _ = ask(forwarder.host, forwarder.port, "nosuch.example.test.", "A")
    assert negative.rcode() == dns.rcode.NXDOMAIN


@pytest.fixture(scope="module")
def stale_and_authoritative(tree: Tree, tmp_path_factory: pytest.TempPathFactory
                            ) -> Iterator[ResolverProcess]:
    config = tmp_path_factory.mktemp("stale") / "resolver.toml"
    config.write_text("serve_stale = true\n")
    with recursor(DATA / "sld_b", "--config", str(config)) as process:
        yield process


def test_one_listener_serves_our_zones_and_recursion(
    stale_and_authoritative: ResolverProcess,
) -> None:
    server = stale_and_authoritative
    own, _ = ask(server.host, server.port, "www.other.test.", "A")
    assert normalise(own) == ("NOERROR", ("www.other.test. A 127.0.0.20",))
    assert own.flags & dns.flags.AA
    recursed, _ = ask(server.host, server.port, "www.example.test.", "A")
    assert normalise(recursed) == ("NOERROR", ("www.example.test. A 127.0.0.10",))
    assert not recursed.flags & dns.flags.AA and recursed.flags & dns.flags.RA


def test_serve_stale_when_the_authority_goes_silent(
    stale_and_authoritative: ResolverProcess, tree: Tree
) -> None:
    server = stale_and_authoritative
    toggle = tree.bad["127.0.44.11"]
    fresh, _ = ask(server.host, server.port, "gone.toggle.test.", "A")
    assert normalise(fresh) == ("NOERROR", ("gone.toggle.test. A 127.0.0.82",))
    toggle.alive = False
    try:
        time.sleep(3.2)  # the 2 s TTL has run out
        stale, _ = ask(server.host, server.port, "gone.toggle.test.", "A")
    finally:
        toggle.alive = True
    assert normalise(stale) == normalise(fresh)
    assert stale.answer[0].ttl == 30, "RFC 8767: stale answers go out with TTL 30"
    assert ede_codes(stale) == [3]
