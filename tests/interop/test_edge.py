"""Requests at the edges of the protocol, as raw packets, to our server and the references.

Where Knot and NSD answer alike, we must too. Where they differ from each other or from us,
the test says what each does and why ours is what it is; the references' answers are then
only checked to be one of the documented ones, so a changed reference shows up here.
"""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from resolver.codec import OUR_UDP_PAYLOAD
from tests.interop.raw import exchange, header, parse, question_bytes, with_counts

pytestmark = pytest.mark.interop
Endpoints = dict[str, tuple[str, int]]
SERVERS = ("ours", "knot", "nsd")


def _send(endpoints: Endpoints, server: str, data: bytes, tcp: bool = False) -> bytes:
    host, port = endpoints[server]
    return exchange(data, host, port, tcp)


def _all(endpoints: Endpoints, data: bytes, tcp: bool = False) -> dict[str, bytes]:
    return {server: _send(endpoints, server, data, tcp) for server in SERVERS}


def _query(name: str = "www.interop.test.", rdtype: str = "A", **kwargs: object) -> bytes:
    return dns.message.make_query(name, rdtype, **kwargs).to_wire()  # type: ignore[arg-type]


# EDNS (RFC 6891) ----------------------------------------------------------------------------
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_edns_version_1_gets_badvers(endpoints: Endpoints, tcp: bool) -> None:
    replies = _all(endpoints, _query(use_edns=1), tcp)
    for server, reply in replies.items():
        message = parse(reply)
        assert message.rcode() == dns.rcode.BADVERS, server
        assert message.edns == 0, f"{server}: the OPT of a BADVERS reply carries version 0"
        assert not message.answer, server
    assert parse(replies["ours"]).payload == OUR_UDP_PAYLOAD


def test_two_opt_records_get_formerr(endpoints: Endpoints) -> None:
    wire = _query(use_edns=0)
    opt = wire[-11:]  # the OPT RR make_query appended: root, type, size, ttl, rdlen 0
    twice = with_counts(wire + opt, arcount=2)
    for server, reply in _all(endpoints, twice).items():
        assert header(reply).rcode == dns.rcode.FORMERR, server


def test_opt_echoed_with_our_size_and_clean_flags(endpoints: Endpoints) -> None:
    """OPT echoed at version 0 with our size; DO copied (RFC 3225); unknown EDNS flag bits and
    unknown options in the query are ignored, and the Z bits of our OPT are zero."""
    request = dns.message.make_query(
        "www.interop.test.", "A", use_edns=0, payload=4096, want_dnssec=True,
        options=[dns.edns.GenericOption(65001, b"xy")],
    )
    request.ednsflags |= 0x4000  # a Z bit nobody has defined
    replies = {s: parse(r) for s, r in _all(endpoints, request.to_wire()).items()}
    for server, message in replies.items():
        assert message.rcode() == dns.rcode.NOERROR, server
        assert message.edns == 0 and message.ednsflags & dns.flags.DO, server
    ours = replies["ours"]
    assert ours.payload == OUR_UDP_PAYLOAD
    assert ours.ednsflags & 0xFFFF == dns.flags.DO
    assert not ours.options


def test_payload_below_512_counts_as_512(endpoints: Endpoints) -> None:
    """RFC 6891 §6.2.5: sizes under 512 are treated as 512; 700 bytes of TXT get TC."""
    data = _query("t700.big.test.", "TXT", use_edns=0, payload=100)
    for server, reply in _all(endpoints, data).items():
        assert header(reply).flags & dns.flags.TC, server
    small = _query("www.interop.test.", "A", use_edns=0, payload=100)
    for server, reply in _all(endpoints, small).items():
        assert not header(reply).flags & dns.flags.TC, server


# Opcodes ------------------------------------------------------------------------------------
# IQUERY (1, obsolete), STATUS (2), unassigned (3, 7-15) and DSO (6, TCP sessions we do not
# offer) get NOTIMP from all three. NOTIFY (4) and UPDATE (5) are opcodes Knot and NSD
# implement: with no ACL allowing them, Knot says NOTAUTH to both and NSD REFUSED to NOTIFY and
# NOTIMP to UPDATE. We implement neither, so NOTIMP ("the name server does not support the
# requested kind of query", RFC 1035 §4.1.1; RFC 2136 §3 allows it for UPDATE) is our answer.
REFERENCE_OPCODE_ANSWERS = {
    dns.opcode.NOTIFY: {"knot": dns.rcode.NOTAUTH, "nsd": dns.rcode.REFUSED},
    dns.opcode.UPDATE: {"knot": dns.rcode.NOTAUTH, "nsd": dns.rcode.NOTIMP},
}


@pytest.mark.parametrize("opcode", [1, 2, 3, 4, 5, 6, 7, 15])
def test_unknown_opcodes_get_notimp(endpoints: Endpoints, opcode: int) -> None:
    request = dns.message.make_query("interop.test.", "SOA")
    request.set_opcode(opcode)
    replies = {s: header(r) for s, r in _all(endpoints, request.to_wire()).items()}
    ours = replies["ours"]
    assert ours.rcode == dns.rcode.NOTIMP
    assert ours.opcode == opcode and ours.flags & dns.flags.QR
    for server in ("knot", "nsd"):
        documented = REFERENCE_OPCODE_ANSWERS.get(opcode, {}).get(server, dns.rcode.NOTIMP)
        assert replies[server].rcode == documented, server


# Question count -----------------------------------------------------------------------------
def test_no_question_gets_formerr(endpoints: Endpoints) -> None:
    bare = with_counts(_query(), qdcount=0)[:12]
    for server, reply in _all(endpoints, bare).items():
        assert header(reply).rcode == dns.rcode.FORMERR, server


# Knot drops these two silently (no reply at all), so only NSD is asked: it answers FORMERR,
# as RFC 1035 §4.1.2 / RFC 9619 (QDCOUNT must be 1) lead to, and so do we.
@pytest.mark.parametrize("qdcount", [0, 2], ids=["qdcount0-with-question", "qdcount2"])
def test_question_count_other_than_one_gets_formerr(endpoints: Endpoints, qdcount: int) -> None:
    wire = _query("interop.test.", "SOA")
    data = with_counts(wire, qdcount=qdcount)
    if qdcount == 2:
        data += wire[12:]  # the same question again
    for server in ("ours", "nsd"):
        assert header(_send(endpoints, server, data)).rcode == dns.rcode.FORMERR, server


def test_trailing_garbage_gets_formerr(endpoints: Endpoints) -> None:
    """Bytes after the last record: FORMERR from us and Knot. NSD ignores them and answers;
    RFC 1035 gives no licence to ignore them, so we side with Knot."""
    data = _query("interop.test.", "SOA") + b"\x00\x00"
    for server in ("ours", "knot"):
        assert header(_send(endpoints, server, data)).rcode == dns.rcode.FORMERR, server


# The question, echoed -----------------------------------------------------------------------
@pytest.mark.parametrize("name", [
    "WwW.InTeRoP.TeSt.", "x.WILD.interop.test.", "A.B.Sub.Interop.Test.", "NotHere.interop.TEST.",
    "cX.interop.test.", "X.dN.Interop.Test.", "Example.NET.",
])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_question_echoed_in_the_clients_case(endpoints: Endpoints, name: str, tcp: bool) -> None:
    """The reply's question is the client's, byte for byte (RFC 1035 §7.3 / 0x20 clients);
    asked twice in two spellings, the second reply (replayed from the fast path) too."""
    for spelling in (name, name.swapcase(), name):
        data = _query(spelling, "A", use_edns=0)
        replies = _all(endpoints, data, tcp)
        for server, reply in replies.items():
            assert question_bytes(reply) == question_bytes(data), server


def test_fast_path_replays_the_same_answer(endpoints: Endpoints) -> None:
    """A cacheable answer asked again comes from the fast path: it must equal the first."""
    for name, rdtype in [("www.interop.test.", "A"), ("foo.wild.interop.test.", "MX"),
                         ("c3.interop.test.", "A"), ("nothere.interop.test.", "A"),
                         ("host.sub.interop.test.", "A"), ("t1500.big.test.", "TXT")]:
        for payload in (None, 512, 1232):
            data = _query(name, rdtype, use_edns=False if payload is None else 0,
                          payload=payload or 1232)
            first = _send(endpoints, "ours", data)
            again = _send(endpoints, "ours", data)
            assert first[2:] == again[2:], (name, rdtype, payload)


# Flags --------------------------------------------------------------------------------------
def test_cd_bit_copied(endpoints: Endpoints) -> None:
    """We copy CD into every reply, as RFC 4035 §3.2.2 requires of a server that also recurses
    (the same codec serves our recursive answers). Knot and NSD, authoritative only, clear it
    (RFC 4035 §3.1.6: CD "is not relevant" to authoritative servers). Both are allowed."""
    request = dns.message.make_query("www.interop.test.", "A", use_edns=0)
    request.flags |= dns.flags.CD | dns.flags.AD
    ours = header(_send(endpoints, "ours", request.to_wire()))
    assert ours.flags & dns.flags.CD
    assert not ours.flags & dns.flags.AD  # no DNSSEC validation here: AD never set
    assert not ours.flags & dns.flags.RA


# Classes, transfers and meta-types -----------------------------------------------------------
def test_chaos_class_refused(endpoints: Endpoints) -> None:
    data = _query("version.bind.", "TXT", rdclass="CH")
    for server, reply in _all(endpoints, data).items():
        assert header(reply).rcode == dns.rcode.REFUSED, server


def test_zone_transfer_refused_over_tcp(endpoints: Endpoints) -> None:
    """No transfers are allowed anywhere. NSD and we say REFUSED; Knot says NOTAUTH (its answer
    for "no ACL matches"). Both mean no."""
    data = _query("interop.test.", "AXFR")
    replies = {s: header(r).rcode for s, r in _all(endpoints, data, tcp=True).items()}
    assert replies["ours"] == dns.rcode.REFUSED
    assert replies["nsd"] == dns.rcode.REFUSED
    assert replies["knot"] in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)


def test_zone_transfer_over_udp_not_implemented(endpoints: Endpoints) -> None:
    """AXFR needs TCP: Knot, NSD and we all answer NOTIMP over UDP."""
    for server, reply in _all(endpoints, _query("interop.test.", "AXFR")).items():
        assert header(reply).rcode == dns.rcode.NOTIMP, server


@pytest.mark.parametrize("rdtype", ["OPT", "TSIG", "MAILA", "TKEY"])
def test_meta_types_as_questions_answered_from_zone_data(endpoints: Endpoints, rdtype: str) -> None:
    """Knot and NSD answer these from the zone like any unknown type (NODATA, with the SOA)."""
    for server, reply in _all(endpoints, _query("www.interop.test.", rdtype)).items():
        message = parse(reply)
        assert message.rcode() == dns.rcode.NOERROR, server
        assert not message.answer, server
        assert [r.rdtype for r in message.authority] == [dns.rdatatype.SOA], server


def test_class_any_answered_with_in_data(endpoints: Endpoints) -> None:
    data = _query("www.interop.test.", "A", rdclass="ANY")
    answers = {}
    for server, reply in _all(endpoints, data).items():
        message = parse(reply)
        assert message.rcode() == dns.rcode.NOERROR, server
        answers[server] = sorted(r.to_text() for r in message.answer)
    assert answers["ours"] == answers["knot"] == answers["nsd"]
    assert answers["ours"]
