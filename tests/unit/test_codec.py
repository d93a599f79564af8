"""codec: requests that get FORMERR, NOTIMP or nothing; BADVERS; TC and the size limits;
the header flags and EDNS options of a reply."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from resolver import codec
from resolver.model import Answer, Client, Query

UDP = Client("127.0.0.1", 5353, "udp")
TCP = Client("127.0.0.1", 5353, "tcp")


def decode(wire: bytes, client: Client = UDP, allowed: bool = False) -> Query:
    return codec.decode(wire, client, allowed)


def refusal(wire: bytes) -> bytes | None:
    """The fixed reply ``decode`` gives up with (None: drop)."""
    with pytest.raises(codec.Undecodable) as caught:
        decode(wire)
    return caught.value.reply


def query_wire(name: str = "www.example.test", rdtype: str = "A", **edns: object) -> bytes:
    message = dns.message.make_query(name, rdtype, **edns)  # type: ignore[arg-type]
    message.id = 0x1234
    return message.to_wire()


def header(wire: bytes) -> tuple[int, int, int, int, int, int]:
    return struct.unpack("!HHHHHH", wire[:12])


# -- decode: what gets no reply, FORMERR or NOTIMP ----------------------------------------
@pytest.mark.parametrize("wire", [b"", b"\x12", b"\x12\x34" + b"\x00" * 9])
def test_no_readable_header_is_dropped(wire: bytes) -> None:
    assert refusal(wire) is None


def test_a_response_is_dropped() -> None:
    wire = bytearray(query_wire())
    wire[2] |= 0x80
    assert refusal(bytes(wire)) is None


@pytest.mark.parametrize("wire", [
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",  # one question announced, none there
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www",  # cut inside the name
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer loop
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x40abc\x00\x00\x01\x00\x01",  # label type
    query_wire() + b"junk",  # trailing bytes
])
def test_garbage_after_a_header_is_formerr(wire: bytes) -> None:
    reply = refusal(wire)
    assert reply is not None
    query_id, flags, *counts = header(reply)
    assert query_id == 0x1234 and flags & 0x8000  # the ID echoed, QR set
    assert flags & 0xF == dns.rcode.FORMERR
    assert flags & 0x0100  # RD echoed
    assert counts == [0, 0, 0, 0]


def test_question_counts_other_than_one_are_formerr() -> None:
    two = dns.message.make_query("a.example.test", "A")
    two.question.append(dns.rrset.RRset(dns.name.from_text("b.example.test"),
                                        dns.rdataclass.IN, dns.rdatatype.A))
    none = query_wire()[:4] + b"\x00\x00" + query_wire()[6:12]
    for wire in (two.to_wire(), none):
        reply = refusal(wire)
        assert reply is not None and header(reply)[1] & 0xF == dns.rcode.FORMERR


def test_records_in_the_answer_section_are_formerr() -> None:
    message = dns.message.make_query("www.example.test", "A")
    message.answer.append(dns.rrset.from_text("www.example.test.", 60, "IN", "A", "10.0.0.1"))
    reply = refusal(message.to_wire())
    assert reply is not None and header(reply)[1] & 0xF == dns.rcode.FORMERR


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
                                    dns.opcode.UPDATE, 3, 15])
def test_other_opcodes_are_notimp(opcode: int) -> None:
    wire = bytearray(query_wire())
    wire[2] = (wire[2] & 0x87) | (opcode << 3)
    reply = refusal(bytes(wire))
    assert reply is not None
    flags = header(reply)[1]
    assert flags & 0xF == dns.rcode.NOTIMP and (flags >> 11) & 0xF == opcode


def test_unparsable_unknown_opcode_is_notimp() -> None:
    reply = refusal(b"\x12\x34\x78\x00\x00\x05" + b"\xff" * 20)
    assert reply is not None and header(reply)[1] & 0xF == dns.rcode.NOTIMP


@pytest.mark.parametrize("option", [
    dns.edns.GenericOption(8, struct.pack("!HBB", 1, 24, 8) + b"\x0a\x00\x00"),  # scope != 0
    dns.edns.GenericOption(8, struct.pack("!HBB", 1, 8, 0) + b"\x0a\xff"),  # bits past /8
    dns.edns.GenericOption(8, struct.pack("!HBB", 3, 8, 0) + b"\x0a"),  # no such family
])
def test_bad_client_subnet_is_formerr(option: dns.edns.Option) -> None:
    reply = refusal(query_wire(use_edns=0, options=[option]))
    assert reply is not None and header(reply)[1] & 0xF == dns.rcode.FORMERR


def test_two_client_subnets_are_formerr() -> None:
    ecs = dns.edns.ECSOption("10.1.0.0", 16)
    reply = refusal(query_wire(use_edns=0, options=[ecs, ecs]))
    assert reply is not None and header(reply)[1] & 0xF == dns.rcode.FORMERR


def test_malformed_cookie_is_formerr() -> None:
    cookie = dns.edns.GenericOption(10, b"\x01\x02\x03")
    reply = refusal(query_wire(use_edns=0, options=[cookie]))
    assert reply is not None and header(reply)[1] & 0xF == dns.rcode.FORMERR


# -- decode: what a good request becomes ------------------------------------------------
def test_a_plain_query() -> None:
    query = decode(query_wire("WwW.Example.TEST", "AAAA"), allowed=True)
    assert query.id == 0x1234 and query.qtype == dns.rdatatype.AAAA and query.qclass == 1
    assert query.qname.labels[0] == b"WwW"  # the client's letter case is kept
    assert query.rd and not query.cd and query.edns is None and query.recursion_allowed


def test_edns_and_client_subnet() -> None:
    wire = query_wire(use_edns=0, payload=4096, want_dnssec=True,
                      options=[dns.edns.ECSOption("10.1.2.0", 24)])
    query = decode(wire)
    assert query.edns is not None
    assert (query.edns.version, query.edns.payload, query.edns.do) == (0, 4096, True)
    assert query.client.ecs is not None
    assert (query.client.ecs.address, query.client.ecs.source_prefix) == ("10.1.2.0", 24)
    assert query.client.subject == "10.1.2.0"


# -- encode ------------------------------------------------------------------------------
def a_records(count: int, name: str = "www.example.test.") -> dns.rrset.RRset:
    return dns.rrset.from_text_list(name, 60, "IN", "A",
                                    [f"10.0.{i // 250}.{i % 250}" for i in range(count)])


def reply_to(wire: bytes, answer: Answer, client: Client = UDP,
             allowed: bool = False) -> dns.message.Message:
    return dns.message.from_wire(codec.encode(decode(wire, client, allowed), answer))


def test_flags_are_echoed_and_set() -> None:
    wire = bytearray(query_wire())
    wire[3] |= 0x10  # CD
    reply = reply_to(bytes(wire), Answer(authoritative=True, answer=(a_records(1),)),
                     allowed=True)
    assert reply.id == 0x1234
    for flag in (dns.flags.QR, dns.flags.AA, dns.flags.RD, dns.flags.RA, dns.flags.CD):
        assert reply.flags & flag
    assert not reply.flags & dns.flags.TC
    no_ra = reply_to(query_wire(), Answer(answer=(a_records(1),)))
    assert not no_ra.flags & (dns.flags.RA | dns.flags.AA)


def test_edns_version_above_zero_is_badvers() -> None:
    wire = query_wire(use_edns=1)
    reply = reply_to(wire, Answer(authoritative=True, answer=(a_records(1),)))
    assert reply.rcode() == dns.rcode.BADVERS
    assert reply.edns == 0 and not reply.answer  # we speak version 0, and say nothing else
    raw = codec.encode(decode(wire), Answer())
    assert header(raw)[1] & 0xF == 0  # BADVERS lives in the OPT's extended rcode


def test_without_edns_replies_fit_512_bytes_with_tc() -> None:
    answer = Answer(authoritative=True, answer=(a_records(60),))
    raw = codec.encode(decode(query_wire()), answer)
    reply = dns.message.from_wire(raw)
    assert len(raw) <= 512 and reply.flags & dns.flags.TC and not reply.answer
    assert reply.question[0].name == dns.name.from_text("www.example.test")
    assert reply.flags & dns.flags.AA


@pytest.mark.parametrize(("payload", "limit"), [
    (0, 512), (100, 512), (512, 512), (1000, 1000), (1232, 1232), (4096, 1232), (65535, 1232),
])
def test_udp_size_is_clamped(payload: int, limit: int) -> None:
    query = decode(query_wire(use_edns=0, payload=payload))
    assert codec.max_size(query) == limit
    fits = codec.encode(query, Answer(answer=(a_records((limit - 80) // 16),)))
    assert len(fits) <= limit and not dns.message.from_wire(fits).flags & dns.flags.TC
    too_big = codec.encode(query, Answer(answer=(a_records(limit // 16 + 1),)))
    assert len(too_big) <= limit and dns.message.from_wire(too_big).flags & dns.flags.TC


def test_reply_advertises_our_payload() -> None:
    reply = reply_to(query_wire(use_edns=0, payload=4096, want_dnssec=True), Answer())
    assert reply.payload == codec.OUR_UDP_PAYLOAD
    assert reply.ednsflags & dns.flags.DO


def test_tcp_has_no_udp_limit() -> None:
    query = decode(query_wire(), TCP)
    assert codec.max_size(query) == codec.TCP_MAX
    raw = codec.encode(query, Answer(answer=(a_records(1000),)))
    assert len(raw) > 4096 and not dns.message.from_wire(raw).flags & dns.flags.TC


def test_tcp_caps_at_64k() -> None:
    query = decode(query_wire(), TCP)
    raw = codec.encode(query, Answer(answer=(a_records(5000),)))
    assert len(raw) <= 65535 and dns.message.from_wire(raw).flags & dns.flags.TC


def test_optional_additional_data_is_dropped_without_tc() -> None:
    ns = dns.rrset.from_text("example.test.", 60, "IN", "NS", "ns1.example.test.")
    answer = Answer(authoritative=True, answer=(a_records(20),), authority=(ns,),
                    additional=(a_records(20, "ns1.example.test."),))
    raw = codec.encode(decode(query_wire()), answer)
    reply = dns.message.from_wire(raw)
    assert len(raw) <= 512 and not reply.flags & dns.flags.TC
    assert len(reply.answer[0]) == 20 and not reply.additional


def test_client_subnet_scope_and_ede_are_returned() -> None:
    wire = query_wire(use_edns=0, options=[dns.edns.ECSOption("10.1.2.0", 24)])
    reply = reply_to(wire, Answer(ecs_scope=16, ede=((3, "stale"),)))
    by_type = {o.otype: o for o in reply.options}
    ecs = by_type[dns.edns.OptionType.ECS]
    assert isinstance(ecs, dns.edns.ECSOption)
    assert (ecs.address, ecs.srclen, ecs.scopelen) == ("10.1.2.0", 24, 16)
    ede = by_type[dns.edns.OptionType.EDE]
    assert isinstance(ede, dns.edns.EDEOption) and (ede.code, ede.text) == (3, "stale")


def test_no_options_without_edns() -> None:
    reply = reply_to(query_wire(), Answer(ede=((3, "stale"),)))
    assert reply.edns == -1 and reply.opt is None
