"""The fast path answers exactly as the pipeline does: the same cases through both.

Every request below is answered three ways: by a handler with an empty answer table (the
pipeline, the reference), by a handler whose table was filled by an earlier request for the
same question (the table's two levels), and by the UDP listener's inlined lookup (a real
socket pair on loopback, the listener's drain called directly). The bytes
must be identical, except that a replay carries the client's ID and, for the folded level,
the client's letter case in the question.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.rrset
import pytest

from bench import gen_zone
from resolver.authority.stage import AuthorityStage
from resolver.fastpath import AnswerTable, request_key
from resolver.handler import QueryHandler, RecursionAcl
from resolver.model import Answer
from resolver.pipeline import Guard, Pipeline
from resolver.recursion.wirecache import RecentAnswers
from resolver.runtime import Runtime
from resolver.transport.sockets import bind
from resolver.transport.udp import UdpListener

REPO = Path(__file__).resolve().parents[2]

NAMES = [
    ("www.example.test", "A"), ("www.example.test", "AAAA"), ("www.example.test", "MX"),
    ("example.test", "MX"), ("example.test", "NS"), ("example.test", "SOA"),
    ("example.test", "TXT"), ("example.test", "CAA"), ("example.test", "ANY"),
    ("ftp.example.test", "A"), ("alias.example.test", "AAAA"), ("elsewhere.example.test", "A"),
    ("nope.example.test", "A"), ("deep.example.test", "A"), ("ns2.example.test", "TXT"),
    ("x.apps.example.test", "A"), ("y.z.apps.example.test", "TXT"), ("q.apps.example.test", "MX"),
    ("host.sub.example.test", "A"), ("sub.example.test", "DS"), ("sub.example.test", "NS"),
    ("a.old.example.test", "A"), ("_sip._udp.example.test", "SRV"), ("host3.example.test", "A"),
    ("www.example.test", 65), ("www.example.test", "CAA"), ("www.example.test", "AXFR"),
    ("outside.invalid", "A"), ("host7.bench.test", "AAAA"), ("mx3.bench.test", "MX"),
    ("alias9.bench.test", "A"), ("w1.wild.bench.test", "AAAA"), ("www.sub1.bench.test", "A"),
    ("nx1.bench.test", "A"), ("v4only2.bench.test", "AAAA"), ("bench.test", "ANY"),
]
SHAPES: dict[str, dict[str, object]] = {
    "plain": {},
    "no-rd": {"flags": 0},
    "cd": {"flags": dns.flags.RD | dns.flags.CD},
    "edns": {"use_edns": 0},
    "edns-512": {"use_edns": 0, "payload": 512},
    "edns-4096-do": {"use_edns": 0, "payload": 4096, "want_dnssec": True},
    "cookie": {"use_edns": 0, "options": [dns.edns.GenericOption(10, bytes(range(8)))]},
    "nsid": {"use_edns": 0, "options": [dns.edns.GenericOption(3, b"")]},
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    zones = tmp_path_factory.mktemp("zones")
    (zones / "example.test.zone").write_text((REPO / "zones" / "example.test.zone").read_text())
    (zones / "bench.test.zone").write_text("\n".join(gen_zone.zone_lines(400)) + "\n")
    runtime = Runtime(zones)
    assert runtime.load_zones() == []
    return runtime


def make_handler(runtime: Runtime, recursion: bool) -> QueryHandler:
    pipeline = Pipeline([Guard(), AuthorityStage(lambda: runtime.snapshot)])
    acl = RecursionAcl(recursion, ["127.0.0.0/8"])
    return QueryHandler(pipeline, acl, AnswerTable())


def request(name: str, rdtype: str | int, shape: str, query_id: int) -> bytes:
    message = dns.message.make_query(name, rdtype, **SHAPES[shape])  # type: ignore[arg-type]
    message.id = query_id
    return message.to_wire()


def reference(runtime: Runtime, data: bytes, transport: str, recursion: bool) -> bytes:
    reply = make_handler(runtime, recursion).handle(data, "127.0.0.1", 5300, transport)
    assert isinstance(reply, bytes)
    return reply


def cases() -> list[tuple[str, str | int, str, str, bool]]:
    out = []
    for name, rdtype in NAMES:
        for shape in SHAPES:
            out.append((name, rdtype, shape, "udp", False))
        out.append((name, rdtype, "edns", "tcp", False))
        out.append((name, rdtype, "plain", "udp", True))
    return out


class UdpPair:
    """A UDP listener and a client socket on 127.0.0.1, the listener drained by hand."""

    def __init__(self, handler: QueryHandler) -> None:
        self.listener = UdpListener(handler, bind("127.0.0.1", 0, socket.SOCK_DGRAM))
        self.client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.client.bind(("127.0.0.1", 0))
        self.client.settimeout(2)

    def ask(self, data: bytes) -> list[bytes]:
        """Every reply the listener sends to one datagram."""
        self.client.sendto(data, self.listener.sockname)
        ready, _, _ = select.select([self.listener.sock], [], [], 2)
        assert ready, "the datagram did not arrive"
        self.listener._drain()
        replies = [self.client.recv(65535)]
        self.client.setblocking(False)
        try:
            while True:
                replies.append(self.client.recv(65535))
        except BlockingIOError:
            pass
        finally:
            self.client.settimeout(2)
        return replies

    def close(self) -> None:
        self.listener.close()
        self.client.close()


@pytest.fixture
def pair_for() -> Iterator[object]:
    pairs: list[UdpPair] = []

    def make(handler: QueryHandler) -> UdpPair:
        pairs.append(UdpPair(handler))
        return pairs[-1]

    yield make
    for pair in pairs:
        pair.close()


@pytest.mark.parametrize(("name", "rdtype", "shape", "transport", "recursion"), cases())
def test_fast_path_equals_pipeline(
    runtime: Runtime, name: str, rdtype: str | int, shape: str, transport: str, recursion: bool
) -> None:
    handler = make_handler(runtime, recursion)
    first = handler.handle(request(name, rdtype, shape, 1), "127.0.0.1", 5300, transport)
    assert isinstance(first, bytes)
    for asked, query_id in ((name, 0xBEEF), (name.upper(), 0x1234), (_mixed(name), 7)):
        data = request(asked, rdtype, shape, query_id)
        hits = handler.table.hits
        expected = reference(runtime, data, transport, recursion)
        got = handler.handle(data, "127.0.0.1", 5300, transport)
        assert isinstance(got, bytes)
        if handler.table.hits > hits:  # answered from the table: compare with the pipeline
            assert got[:2] == data[:2]
            question_end = _question_end(data)
            assert got[12:question_end] == data[12:question_end]
            if asked == name:
                assert got == expected
            else:  # another letter case: equal but for the case of names in the answer
                assert got.lower() == expected.lower()
        else:
            assert got == expected
        if transport == "udp":
            _check_udp_listener(handler, data, expected, asked == name)


def _check_udp_listener(handler: QueryHandler, data: bytes, expected: bytes, same_case: bool
                        ) -> None:
    pair = UdpPair(handler)
    try:
        sent = pair.ask(data)
    finally:
        pair.close()
    assert len(sent) == 1
    if same_case:
        assert sent[0] == expected
    else:
        assert sent[0].lower() == expected.lower()


def _question_end(data: bytes) -> int:
    pos = 12
    while data[pos]:
        pos += data[pos] + 1
    return pos + 5


def _mixed(name: str) -> str:
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


# -- EDNS Client Subnet ------------------------------------------------------------------
# (first client's subnet, second client's subnet, source prefix): the same family and prefix,
# another address, so the folded level must put the second client's address in.
ECS_SUBNETS = {
    "v4-24": ("192.0.2.0", "198.51.100.0", 24),
    "v4-32": ("192.0.2.1", "203.0.113.77", 32),
    "v4-0": ("0.0.0.0", "0.0.0.0", 0),
    "v4-17": ("198.51.0.0", "198.51.128.0", 17),
    "v6-56": ("2001:db8:1:200::", "2001:db8:ff:ff00::", 56),
    "v6-128": ("2001:db8::53", "2001:db8:ffff::1", 128),
    "v6-0": ("::", "::", 0),
}
COOKIE = dns.edns.GenericOption(10, bytes(range(8)))
# Option data the slow path rejects (FORMERR): none may be answered from a table.
BAD_ECS = {
    "scope-16": "0001180ac00002",
    "bits-past-prefix": "00011100c633c0",
    "address-too-long": "00011800c0000200",
    "address-too-short": "00011800c000",
    "family-3": "00031800c00002",
    "srclen-33": "00012100c000020180",
    "srclen-129": "000281002001",
}


def ecs_request(name: str, rdtype: str | int, address: str, prefix: int, query_id: int,
                cookie: bool = False, **kwargs: object) -> bytes:
    options: list[dns.edns.Option] = [dns.edns.ECSOption(address, prefix)]
    if cookie:
        options.insert(0, COOKIE)  # the ECS option then is not the request's last
    message = dns.message.make_query(name, rdtype, use_edns=0, options=options,
                                     **kwargs)  # type: ignore[arg-type]
    message.id = query_id
    return message.to_wire()


def _compare(handler: QueryHandler, runtime: Runtime, data: bytes, same_case: bool,
             transport: str = "udp", recursion: bool = False) -> bytes:
    expected = reference(runtime, data, transport, recursion)
    got = handler.handle(data, "127.0.0.1", 5300, transport)
    assert isinstance(got, bytes)
    assert got == expected if same_case else got.lower() == expected.lower()
    if transport == "udp":
        _check_udp_listener(handler, data, expected, same_case)
    return got


@pytest.mark.parametrize("subnet", ECS_SUBNETS)
@pytest.mark.parametrize(("name", "rdtype"), NAMES)
def test_ecs_requests_equal_pipeline(runtime: Runtime, name: str, rdtype: str | int,
                                     subnet: str) -> None:
    """A reply stored for one client's subnet, replayed to another's: the pipeline's bytes,
    with the second client's address (and letter case, ID) in them."""
    first, second, prefix = ECS_SUBNETS[subnet]
    for transport, recursion in (("udp", False), ("tcp", False), ("udp", True)):
        handler = make_handler(runtime, recursion)
        handler.handle(ecs_request(name, rdtype, first, prefix, 1), "127.0.0.1", 5300,
                       transport)
        asks = [(name, second, 0xBEEF, False), (name.upper(), first, 0x1234, False),
                (_mixed(name), second, 7, True), (name, first, 8, True)]
        for asked, address, query_id, cookie in asks:
            data = ecs_request(asked, rdtype, address, prefix, query_id, cookie)
            hits = handler.table.hits
            got = _compare(handler, runtime, data, asked == name, transport, recursion)
            if handler.table.hits > hits:
                reply = dns.message.from_wire(got)
                echo = [o for o in reply.options if o.otype == dns.edns.ECS]
                assert [(e.address, e.srclen, e.scopelen) for e in echo] == [
                    (address, prefix, 0)]


def test_ecs_requests_are_served_from_the_table(runtime: Runtime) -> None:
    handler = make_handler(runtime, False)
    for name, rdtype in NAMES:
        handler.handle(ecs_request(name, rdtype, "192.0.2.0", 24, 1), "127.0.0.1", 1, "udp")
    before = handler.table.hits
    for name, rdtype in NAMES:
        handler.handle(ecs_request(name, rdtype, "198.51.100.0", 24, 2), "127.0.0.1", 1, "udp")
    assert handler.table.hits - before >= len(NAMES) - 3  # AXFR, outside, HTTPS-less misses


@pytest.mark.parametrize("bad", BAD_ECS)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_malformed_ecs_gets_the_pipelines_formerr(runtime: Runtime, bad: str,
                                                  transport: str) -> None:
    """With the question already in both levels of the table, from a good ECS request."""
    handler = make_handler(runtime, False)
    good = ecs_request("www.example.test", "A", "192.0.2.0", 24, 1)
    handler.handle(good, "127.0.0.1", 5300, transport)
    message = dns.message.make_query("www.example.test", "A", use_edns=0,
                                     options=[dns.edns.GenericOption(8, bytes.fromhex(
                                         BAD_ECS[bad]))])
    for query_id in (2, 3):
        message.id = query_id
        got = _compare(handler, runtime, message.to_wire(), True, transport)
        assert got[3] & 0xF == dns.rcode.FORMERR


def test_two_ecs_options_get_the_pipelines_formerr(runtime: Runtime) -> None:
    handler = make_handler(runtime, False)
    handler.handle(ecs_request("www.example.test", "A", "192.0.2.0", 24, 1), "127.0.0.1",
                   5300, "udp")
    option = dns.edns.ECSOption("192.0.2.0", 24)
    message = dns.message.make_query("www.example.test", "A", use_edns=0,
                                     options=[option, option])
    got = _compare(handler, runtime, message.to_wire(), True)
    assert got[3] & 0xF == dns.rcode.FORMERR


def test_most_cases_are_served_from_the_table(runtime: Runtime) -> None:
    """The equivalence above is not vacuous: cacheable answers do hit the table."""
    handler = make_handler(runtime, False)
    for name, rdtype in NAMES:
        handler.handle(request(name, rdtype, "edns", 1), "127.0.0.1", 1, "udp")
    before = handler.table.hits
    for name, rdtype in NAMES:
        handler.handle(request(name, rdtype, "edns", 2), "127.0.0.1", 1, "udp")
    assert handler.table.hits - before >= len(NAMES) - 3  # AXFR, outside, HTTPS-less misses


def test_exact_level_is_emptied_with_the_snapshot(runtime: Runtime) -> None:
    handler = make_handler(runtime, False)
    handler.handle(request("www.example.test", "A", "plain", 1), "127.0.0.1", 1, "udp")
    assert any(handler.table.exact)
    handler.table.clear()
    assert not any(handler.table.exact) and len(handler.table) == 0


def test_udp_listener_sends_misses_through_the_handler(runtime: Runtime, pair_for) -> None:
    handler = make_handler(runtime, False)
    pair = pair_for(handler)
    sent = [pair.ask(request("www.example.test", "A", "plain", query_id))
            for query_id in (1, 2)]
    assert pair.listener.fast_hits == 1  # the second one, from the exact level
    assert [[dns.message.from_wire(s).id for s in replies] for replies in sent] == [[1], [2]]


def test_udp_listener_replays_recursive_answers_with_ttls_counting_down(
    runtime: Runtime, pair_for
) -> None:
    """A recursive answer is served by the drain from the replies of the current second, and
    once the second turns, rebuilt with its TTLs one lower (recursion/wirecache.py)."""
    clock = _Clock()
    handler = make_handler(runtime, True)
    handler.recent = RecentAnswers(clock)
    query = dns.message.make_query("www.elsewhere.test", "A")
    query.id = 1
    data = query.to_wire()
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    response.answer.append(dns.rrset.from_text("www.elsewhere.test.", 300, "IN", "A",
                                               "192.0.2.7"))
    wire = response.to_wire()
    key, end, _ = request_key(data, False, True)  # type: ignore[misc]
    handler.recent.offer(key, wire, Answer(stage="recursion"), data, end)
    pair = pair_for(handler)

    def ask(query_id: int) -> dns.message.Message:
        replies = pair.ask(query_id.to_bytes(2, "big") + data[2:])
        assert len(replies) == 1
        reply = dns.message.from_wire(replies[0])
        assert reply.id == query_id
        return reply

    assert ask(2).answer[0].ttl == 300 and pair.listener.fast_hits == 0  # via the handler
    assert ask(3).answer[0].ttl == 300 and pair.listener.fast_hits == 1  # this second's table
    clock.now += 1.0
    assert ask(4).answer[0].ttl == 299 and pair.listener.fast_hits == 1  # rebuilt once
    assert ask(5).answer[0].ttl == 299 and pair.listener.fast_hits == 2
    clock.now += 2.5
    assert ask(6).answer[0].ttl == 297
    handler.recent.clear()
    assert not any(handler.recent.current)


class _Clock:
    now = 1000.2

    def __call__(self) -> float:
        return self.now
