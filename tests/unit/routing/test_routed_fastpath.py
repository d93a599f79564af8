"""The routed fast path (routing/fastpath.py) answers exactly as the pipeline does, ECS or not.

A runtime serves a zone with policy-bound names (real policies, a real ``Router``; members
``status: up`` or ``down``, so no health checks and deterministic answers). Every request is
answered by a handler without the routed table (the pipeline, the reference) and by one with
it, and through the UDP listener; the bytes must be identical, and the routed table must be
the one that answered. With ECS, the decision is the ECS subnet's and the reply's scope the
decision's, so clients in different subnets get different answers through the fast path.
"""

from __future__ import annotations

import random

import dns.edns
import dns.message
import dns.rcode
import pytest

from resolver.authority.stage import AuthorityStage
from resolver.fastpath import AnswerTable
from resolver.handler import QueryHandler, RecursionAcl
from resolver.health.model import HealthSnapshot
from resolver.pipeline import Guard, Pipeline
from resolver.routing.fastpath import RoutedTable
from resolver.routing.router import Router
from resolver.routing.service import dynamic_entries
from resolver.runtime import Runtime
from tests.support.policies import ZONE_TEXT, policies_from
from tests.unit.test_fastpath_equivalence import UdpPair

POLICIES = """\
geo:
  type: A
  ttl: 60
  values: [192.0.2.99]
  dynamic:
    pools:
      narrow: {values: [{value: 192.0.2.2, status: up}]}
      wide: {values: [{value: 192.0.2.1, status: up}]}
      six: {values: [{value: 192.0.2.6, status: up}]}
      rest: {values: [{value: 192.0.2.3, status: up}]}
    rules:
      - subnets: [198.51.100.0/26]
        pool: narrow
      - subnets: [198.51.0.0/16]
        pool: wide
      - subnets: [2001:db8:aa00::/40]
        pool: six
      - pool: rest
six:
  type: AAAA
  ttl: 60
  values: ['2001:db8::99']
  dynamic:
    pools:
      near: {values: [{value: '2001:db8::1', status: up}]}
      far: {values: [{value: '2001:db8::2', status: up}]}
    rules:
      - subnets: [2001:db8:aa00::/40, 203.0.113.0/24]
        pool: near
      - pool: far
flat:
  type: A
  ttl: 60
  values: [192.0.2.98]
  dynamic:
    pools:
      only: {values: [{value: 192.0.2.7, status: up}]}
    rules:
      - pool: only
""" + "".join(f"""\
{name}:
  type: A
  ttl: 60
  values: [192.0.2.9{i}]
  dynamic:
    pools:
      gone: {{values: [{{value: 192.0.2.1{i}, status: down}}]}}
    rules:
      - subnets: [198.51.0.0/16]
        pool: gone
      - pool: gone
    on_all_down: {outcome}
""" for i, (name, outcome) in enumerate((("dark", "nodata"), ("fail", "servfail"))))
NAMES = [("geo", "A"), ("six", "AAAA"), ("flat", "A"), ("dark", "A"), ("fail", "A")]
# (ECS subnet and prefix, or None; the source address)
CLIENTS = {
    "none": (None, "127.0.0.1"),
    "v4-24-narrow": (("198.51.100.0", 24), "127.0.0.1"),
    "v4-24-wide": (("198.51.7.0", 24), "127.0.0.1"),
    "v4-24-rest": (("192.0.2.0", 24), "127.0.0.1"),
    "v4-32": (("198.51.100.77", 32), "127.0.0.1"),
    "v4-17": (("198.51.128.0", 17), "127.0.0.1"),
    "v4-0": (("0.0.0.0", 0), "198.51.100.9"),  # prefix 0: the source address decides
    "v6-56": (("2001:db8:aa01:200::", 56), "127.0.0.1"),
    "v6-128": (("2001:db8:aa00::53", 128), "127.0.0.1"),
    "v6-0": (("::", 0), "127.0.0.1"),
    "v4-24-after-cookie": (("203.0.113.0", 24), "127.0.0.1"),
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("zones")
    (folder / "example.test.zone").write_text(ZONE_TEXT.format(origin="example.test"))
    runtime = Runtime(folder)
    assert runtime.load_zones() == []
    policies, problems = policies_from(POLICIES, runtime.zone_data())
    assert problems == []
    router = Router(policies, HealthSnapshot, clock=lambda: 1_000_000.0, rng=random.Random(7))
    runtime.set_routing(router, dynamic_entries(policies))
    return runtime


def make_handler(runtime: Runtime, routed: bool, recursion: bool = False) -> QueryHandler:
    pipeline = Pipeline([Guard(), AuthorityStage(lambda: runtime.snapshot)])
    handler = QueryHandler(pipeline, RecursionAcl(recursion, ["127.0.0.0/8"]), AnswerTable())
    if routed:
        handler.routed = RoutedTable(lambda: runtime.snapshot)
    return handler


def request(name: str, rdtype: str, client: str, query_id: int, **kwargs: object) -> bytes:
    subnet = CLIENTS[client][0]
    options: list[dns.edns.Option] = []
    if client.endswith("after-cookie"):
        options.append(dns.edns.GenericOption(10, bytes(range(8))))
    if subnet is not None:
        options.append(dns.edns.ECSOption(*subnet))
    message = dns.message.make_query(f"{name}.example.test", rdtype, use_edns=0,
                                     options=options, **kwargs)  # type: ignore[arg-type]
    message.id = query_id
    return message.to_wire()


def _mixed(name: str) -> str:
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def answered(handler: QueryHandler, runtime: Runtime, data: bytes, address: str,
             transport: str = "udp", recursion: bool = False) -> dns.message.Message:
    """Assert the routed table answers ``data`` with the pipeline's bytes; the reply."""
    expected = make_handler(runtime, False, recursion).handle(data, address, 53, transport)
    assert handler.routed is not None
    hits = handler.routed.hits
    got = handler.handle(data, address, 53, transport)
    assert isinstance(expected, bytes) and got == expected
    assert handler.routed.hits == hits + 1
    return dns.message.from_wire(got)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(("name", "rdtype"), NAMES)
def test_routed_fast_path_equals_pipeline(runtime: Runtime, name: str, rdtype: str,
                                          client: str) -> None:
    address = CLIENTS[client][1]
    for transport, recursion in (("udp", False), ("tcp", False), ("udp", True)):
        handler = make_handler(runtime, True, recursion)
        for query_id, asked in ((1, name), (2, name), (3, name.upper()), (4, _mixed(name))):
            data = request(asked, rdtype, client, query_id)
            answered(handler, runtime, data, address, transport, recursion)
        if transport == "udp":  # the listener hands routed names to the handler
            pair = UdpPair(handler)
            try:
                data = request(name, rdtype, client, 5)
                expected = make_handler(runtime, False, recursion).handle(data, address, 53,
                                                                          "udp")
                if address == "127.0.0.1":
                    assert pair.ask(data) == [expected]
            finally:
                pair.close()


def _route(reply: dns.message.Message) -> tuple[list[str], int | None]:
    values = sorted(r.to_text() for rrset in reply.answer for r in rrset)
    scopes = [o.scopelen for o in reply.options if o.otype == dns.edns.ECS]
    return values, scopes[0] if scopes else None


def test_clients_in_other_subnets_get_other_answers_and_scopes(runtime: Runtime) -> None:
    """One handler, its routed table warm: each ECS subnet gets its own decision and scope,
    each answer carrying its own client's address."""
    handler = make_handler(runtime, True)
    seen = {}
    for round_no in range(2):
        for client in ("v4-24-narrow", "v4-24-wide", "v4-24-rest", "v6-56", "v4-0"):
            data = request("geo", "A", client, 10 + round_no)
            reply = answered(handler, runtime, data, CLIENTS[client][1])
            seen[client] = _route(reply)
            echo = [o for o in reply.options if o.otype == dns.edns.ECS][0]
            assert (echo.address, echo.srclen) == CLIENTS[client][0]
    assert seen["v4-24-narrow"] == (["192.0.2.2"], 24)
    assert seen["v4-24-wide"][0] == ["192.0.2.1"] and seen["v4-24-wide"][1] not in (0, 24)
    assert seen["v4-24-rest"][0] == ["192.0.2.3"]
    assert seen["v6-56"][0] == ["192.0.2.6"] and seen["v6-56"][1] == 40
    assert seen["v4-0"] == (["192.0.2.2"], 0)  # the source address, 198.51.100.9; scope 0


def test_routed_outcomes_without_records_keep_the_scope(runtime: Runtime) -> None:
    handler = make_handler(runtime, True)
    for name, rcode in (("dark", dns.rcode.NOERROR), ("fail", dns.rcode.SERVFAIL)):
        for query_id in (1, 2):
            reply = answered(handler, runtime, request(name, "A", "v4-24-wide", query_id),
                             "127.0.0.1")
            assert reply.rcode() == rcode and not reply.answer
            assert _route(reply)[1] == 16


@pytest.mark.parametrize("option", ["0001180ac63364", "00011100c633c0", "00031800c63364",
                                    "00012100c633640001", "00011800c633"])
def test_malformed_ecs_for_a_routed_name_gets_formerr(runtime: Runtime, option: str) -> None:
    handler = make_handler(runtime, True)
    handler.handle(request("geo", "A", "v4-24-narrow", 1), "127.0.0.1", 53, "udp")
    message = dns.message.make_query("geo.example.test", "A", use_edns=0, options=[
        dns.edns.GenericOption(8, bytes.fromhex(option))])
    for _ in range(2):
        data = message.to_wire()
        expected = make_handler(runtime, False).handle(data, "127.0.0.1", 53, "udp")
        assert handler.handle(data, "127.0.0.1", 53, "udp") == expected
        assert isinstance(expected, bytes) and expected[3] & 0xF == dns.rcode.FORMERR
