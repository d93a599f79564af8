"""fastpath: which requests get a key (and which must take the slow path), what the key
tells apart, and that a replayed answer carries the client's ID and letter case."""

from __future__ import annotations

import struct
from dataclasses import replace

import dns.edns
import dns.message
import dns.rcode
import dns.rrset
import pytest

from resolver import codec
from resolver.fastpath import AnswerTable, request_key
from resolver.handler import QueryHandler, RecursionAcl
from resolver.model import Answer, Client, Query
from resolver.pipeline import Pipeline


def wire(name: str = "www.example.test", rdtype: str | int = "A", query_id: int = 1,
         **kwargs: object) -> bytes:
    message = dns.message.make_query(name, rdtype, **kwargs)  # type: ignore[arg-type]
    message.id = query_id
    return message.to_wire()


def key(data: bytes, tcp: bool = False, allowed: bool = False) -> bytes | None:
    keyed = request_key(data, tcp, allowed)
    return None if keyed is None else keyed[0]


# -- request_key: equal keys ------------------------------------------------------------
def test_letter_case_and_id_do_not_matter() -> None:
    plain = request_key(wire("www.example.test", query_id=1), False, False)
    upper = request_key(wire("WWW.EXAMPLE.TEST", query_id=2), False, False)
    mixed = request_key(wire("wWw.ExAmPlE.tEsT", query_id=3), False, False)
    assert plain is not None and plain == upper == mixed
    assert plain[1] == 12 + len(b"\x03www\x07example\x04test\x00") + 4


def test_udp_sizes_that_clamp_alike_share_a_key() -> None:
    assert key(wire(use_edns=0, payload=100)) == key(wire(use_edns=0, payload=512))
    assert key(wire(use_edns=0, payload=4096)) == key(wire(use_edns=0, payload=1232))
    assert key(wire(use_edns=0, payload=512)) != key(wire(use_edns=0, payload=1232))


def ecs(address: str, prefix: int, name: str = "www.example.test", **kwargs: object) -> bytes:
    return wire(name, use_edns=0, options=[dns.edns.ECSOption(address, prefix)], **kwargs)


def test_ecs_keys_hold_the_family_and_prefix_not_the_address() -> None:
    assert key(ecs("192.0.2.0", 24)) == key(ecs("198.51.100.0", 24))
    assert key(ecs("2001:db8:1::", 56)) == key(ecs("2001:db8:2::", 56))
    assert key(ecs("192.0.2.0", 24)) != key(ecs("192.0.2.0", 25))
    assert key(ecs("0.0.0.0", 0)) != key(ecs("::", 0))  # the family is echoed
    assert key(ecs("192.0.2.0", 24)) != key(wire(use_edns=0))
    keyed = request_key(ecs("192.0.2.0", 24), False, False)
    assert keyed is not None and keyed[2] == len(ecs("192.0.2.0", 24)) - 11
    assert request_key(wire(use_edns=0), False, False)[2] == 0  # type: ignore[index]


def test_well_formed_cookies_are_keyed() -> None:
    for size in (8, 16, 40):
        cookie = dns.edns.GenericOption(10, bytes(size))
        assert key(wire(use_edns=0, options=[cookie])) is not None


# -- request_key: what tells requests apart ---------------------------------------------
def test_type_and_class_bytes_are_not_case_folded() -> None:
    """0x43 (type 67) and 0x63 (type 99, SPF) differ, though they are 'C' and 'c'."""
    assert key(wire(rdtype=67)) != key(wire(rdtype=99))
    assert key(wire(rdtype=0x4100)) != key(wire(rdtype=0x6100))
    assert key(wire(rdtype=65)) != key(wire(rdtype=97))


@pytest.mark.parametrize(("a", "b"), [
    ((wire(), False, False), (wire(), True, False)),  # transport
    ((wire(), False, False), (wire(), False, True)),  # recursion allowed (RA)
    ((wire(), False, False), (wire(use_edns=0), False, False)),  # EDNS or not
    ((wire(use_edns=0), False, False), (wire(use_edns=0, want_dnssec=True), False, False)),
    ((wire(), False, False), (wire(flags=0), False, False)),  # RD
    ((wire("a.example.test"), False, False), (wire("b.example.test"), False, False)),
    ((wire(rdtype="A"), False, False), (wire(rdtype="AAAA"), False, False)),
])
def test_keys_differ(a: tuple[bytes, bool, bool], b: tuple[bytes, bool, bool]) -> None:
    assert key(*a) is not None and key(*a) != key(*b)


# -- request_key: slow path only --------------------------------------------------------
def _with_header(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("!H", value) + data[offset + 2 :]


def _opt(payload: int = 1232, ext: int = 0, version: int = 0, rdata: bytes = b"",
         owner: bytes = b"\x00") -> bytes:
    return owner + struct.pack("!HHBBHH", 41, payload, ext, version, 0, len(rdata)) + rdata


def _ecs(*options: str) -> bytes:
    """ECS options (code 8), one per hex string of option data."""
    return b"".join(struct.pack("!HH", 8, len(bytes.fromhex(h))) + bytes.fromhex(h)
                    for h in options)


PLAIN = wire()
WITH_ARCOUNT = _with_header(PLAIN, 10, 1)


@pytest.mark.parametrize("data", [
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("0001180ac00102")), id="ecs-scope-16"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000111000a01c0")), id="ecs-bits-past-17"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000118000a010200")), id="ecs-address-long"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000118000a01")), id="ecs-address-short"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000318000a0102")), id="ecs-family-3"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000021000a01020380")), id="ecs-srclen-33"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000281000a01020380")), id="ecs-srclen-129"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("0001")), id="ecs-cut-in-header"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("")), id="ecs-empty"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=_ecs("000118000a0102", "000118000a0102")),
                 id="ecs-twice"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=b"\x00\x08\x00\x07\x00\x01\x18"), id="ecs-overruns"),
    pytest.param(WITH_ARCOUNT + _opt(version=1), id="edns-version-1"),
    pytest.param(WITH_ARCOUNT + _opt(ext=1), id="extended-rcode"),
    pytest.param(WITH_ARCOUNT + _opt(owner=b"\x01x\x00"), id="opt-owner-not-root"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=b"\x00\x0a\x00\x08abc"), id="option-overruns"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=b"\x00\x0a\x00\x03abc"), id="cookie-3-bytes"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=b"\x00\x0a\x00\x0c" + bytes(12)), id="cookie-12"),
    pytest.param(WITH_ARCOUNT + _opt(rdata=b"\x00\x0f\x00\x01x"), id="ede-option"),
    pytest.param(WITH_ARCOUNT + _opt()[:-1], id="opt-cut-short"),
    pytest.param(WITH_ARCOUNT + _opt() + b"x", id="after-opt"),
    pytest.param(_with_header(PLAIN, 10, 2) + _opt() + _opt(), id="arcount-2"),
    pytest.param(_with_header(PLAIN, 4, 2), id="qdcount-2"),
    pytest.param(_with_header(PLAIN, 4, 0), id="qdcount-0"),
    pytest.param(_with_header(PLAIN, 6, 1), id="ancount-1"),
    pytest.param(_with_header(PLAIN, 8, 1), id="nscount-1"),
    pytest.param(PLAIN[:12] + b"\x03www\xc0\x0c\x00\x01\x00\x01", id="compression-pointer"),
    pytest.param(PLAIN[:12] + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", id="label-64"),
    pytest.param(PLAIN + b"\x00", id="trailing-byte"),
    pytest.param(PLAIN[:-1], id="cut-short"),
    pytest.param(PLAIN[:16], id="too-short"),
    pytest.param(bytes([PLAIN[0], PLAIN[1], PLAIN[2] | 0x80]) + PLAIN[3:], id="response"),
    pytest.param(bytes([PLAIN[0], PLAIN[1], PLAIN[2] | 0x20]) + PLAIN[3:], id="opcode-notify"),
])
def test_slow_path_only(data: bytes) -> None:
    assert request_key(data, False, False) is None


# -- AnswerTable ------------------------------------------------------------------------
def stored_reply(table: AnswerTable, request: bytes) -> bytes:
    query = codec.decode(request, Client("127.0.0.1", 1, "udp"), False)
    answer = Answer(authoritative=True, cacheable=True, answer=(
        dns.rrset.from_text(query.qname, 60, "IN", "A", "10.0.0.1"),))
    reply = codec.encode(query, answer)
    keyed = request_key(request, False, False)
    assert keyed is not None
    table.store(keyed[0], reply)
    return reply


def test_replay_carries_the_clients_id_and_letter_case() -> None:
    table = AnswerTable()
    stored_reply(table, wire("www.example.test", query_id=1))
    asked = wire("WwW.eXample.TEST", query_id=0xBEEF)
    keyed = request_key(asked, False, False)
    assert keyed is not None
    raw = table.answer(asked, *keyed)
    assert raw is not None
    reply = dns.message.from_wire(raw)
    assert reply.id == 0xBEEF
    assert reply.question[0].name.labels[:2] == (b"WwW", b"eXample")
    assert reply.answer[0][0].to_text() == "10.0.0.1"
    assert table.hits == 1


def test_clear_and_bound() -> None:
    table = AnswerTable(limit=2)
    for name in ("a.test", "b.test", "c.test"):
        stored_reply(table, wire(name))
    assert len(table) <= 2  # full: emptied, then the newest stored
    table.clear()
    assert len(table) == 0
    keyed = request_key(wire("c.test"), False, False)
    assert keyed is not None and table.answer(wire("c.test"), *keyed) is None


# -- through the handler ----------------------------------------------------------------
class Counting:
    """A stage answering every A question with a cacheable record."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def answer(self, query: Query) -> Answer:
        self.calls += 1
        rrset = dns.rrset.from_text(query.qname, 60, "IN", "A", "10.0.0.1")
        return Answer(authoritative=True, answer=(rrset,), cacheable=True, stage=self.name)


def make_handler() -> tuple[QueryHandler, Counting, AnswerTable]:
    stage = Counting()
    table = AnswerTable()
    return QueryHandler(Pipeline([stage]), RecursionAcl(False, []), table), stage, table


def ask(handler: QueryHandler, data: bytes, transport: str = "udp") -> dns.message.Message:
    reply = handler.handle(data, "127.0.0.1", 5000, transport)
    assert isinstance(reply, bytes)
    return dns.message.from_wire(reply)


def test_handler_answers_repeats_from_the_table() -> None:
    handler, stage, _ = make_handler()
    first = ask(handler, wire("www.example.test", query_id=1))
    again = ask(handler, wire("www.example.test", query_id=2))
    upper = ask(handler, wire("WWW.EXAMPLE.TEST", query_id=3))
    assert stage.calls == 1
    assert (first.id, again.id, upper.id) == (1, 2, 3)
    assert upper.question[0].name.labels[0] == b"WWW"
    ask(handler, wire("www.example.test", query_id=4), "tcp")
    assert stage.calls == 2  # another transport, another entry


def test_malformed_request_is_not_answered_from_the_table() -> None:
    """A request the slow path rejects gets FORMERR even when its question is in the table."""
    handler, stage, _ = make_handler()
    ask(handler, wire(use_edns=0))
    bad_cookie = wire(use_edns=0, options=[dns.edns.GenericOption(10, b"abc")])
    assert ask(handler, bad_cookie).rcode() == dns.rcode.FORMERR
    bad_ede = wire(use_edns=0, options=[dns.edns.GenericOption(15, b"\x00\x03\xff\xfe")])
    assert ask(handler, bad_ede).rcode() == dns.rcode.FORMERR
    assert stage.calls == 1


def test_table_is_dropped_when_cleared() -> None:
    handler, stage, table = make_handler()
    ask(handler, wire())
    table.clear()
    ask(handler, wire())
    assert stage.calls == 2


class Recursing(Counting):
    """A recursion stage: answers not cacheable, offered to the recursion replay table."""

    name = "recursion"

    def answer(self, query: Query) -> Answer:
        return replace(super().answer(query), cacheable=False)


def test_recursive_ecs_requests_are_never_replayed() -> None:
    """Recursion does no ECS: such requests always take the slow path, so a reply made for one
    client's subnet is never replayed to another's (the recursion replay table keys by shape,
    not by address)."""
    from resolver.recursion.wirecache import RecentAnswers

    stage = Recursing()
    handler = QueryHandler(Pipeline([stage]), RecursionAcl(True, ["127.0.0.0/8"]), AnswerTable())
    handler.recent = RecentAnswers()
    ask(handler, wire("www.elsewhere.test", use_edns=0))
    for query_id, subnet in enumerate(("192.0.2.0", "198.51.100.0", "192.0.2.0"), 1):
        reply = ask(handler, ecs(subnet, 24, name="www.elsewhere.test", query_id=query_id))
        assert [o.address for o in reply.options if o.otype == dns.edns.ECS] == [subnet]
    assert stage.calls == 4 and len(handler.recent) == 1  # only the request without ECS
    ask(handler, wire("www.elsewhere.test", use_edns=0))
    assert stage.calls == 4
