"""Recent recursive answers replayed from wire with TTLs patched."""

from __future__ import annotations

import dns.message
import dns.rrset

from resolver.fastpath import request_key
from resolver.model import Answer
from resolver.recursion.wirecache import RecentAnswers, ttl_fields


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _pair(ttl: int = 100) -> tuple[bytes, bytes]:
    query = dns.message.make_query("www.example.test.", "A", use_edns=0)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("www.example.test.", ttl, "IN", "A", "192.0.2.1"))
    response.authority.append(dns.rrset.from_text("example.test.", ttl + 50, "IN", "NS", "ns."))
    return query.to_wire(), response.to_wire()


RECURSIVE = Answer(stage="recursion")


def test_ttls_count_down_and_the_entry_retires_early() -> None:
    clock = Clock()
    table = RecentAnswers(clock)
    data, wire = _pair(100)
    key, end, _ = request_key(data, False, True)
    table.offer(key, wire, RECURSIVE)
    clock.now += 30.7
    reply = dns.message.from_wire(table.answer(data, key, end))
    assert reply.answer[0].ttl == 70 and reply.authority[0].ttl == 120
    assert reply.id == dns.message.from_wire(data).id
    assert reply.edns == 0, "the OPT record is not a TTL"
    clock.now = 100.0 + 89.5  # 10.5 s left: the last 10 % + 1 s goes through the cache
    assert table.answer(data, key, end) is None
    assert len(table) == 0


def test_only_plain_recursive_answers_are_stored() -> None:
    table = RecentAnswers(Clock())
    data, wire = _pair()
    key, _, _ = request_key(data, False, True)
    table.offer(key, wire, Answer(stage="authority"))
    table.offer(key, wire, Answer(stage="recursion", ede=((3, "stale"),)))
    table.offer(key, wire, Answer(rcode=2, stage="recursion"))
    _, short = _pair(1)
    table.offer(key, short, RECURSIVE)
    assert len(table) == 0


def test_ttl_fields_walks_every_record() -> None:
    _, wire = _pair(100)
    assert [ttl for _, ttl in ttl_fields(wire)] == [100, 150]
    assert ttl_fields(wire[:-3]) is None


def test_exact_level_replays_with_ttls_counted_down_once_a_second() -> None:
    """The request itself (less its ID) finds the reply; TTLs as in the keyed level."""
    clock = Clock()
    table = RecentAnswers(clock)
    request = dns.message.make_query("www.example.test", "A")
    request.id = 1
    data = request.to_wire()
    reply = dns.message.make_response(request)
    reply.answer.append(dns.rrset.from_text("www.example.test.", 300, "IN", "A", "127.0.0.1"))
    wire = reply.to_wire()
    table.offer(b"key", wire, RECURSIVE, data, len(data))
    again = bytes([0xBE, 0xEF]) + data[2:]
    first = table.replay(again)
    assert first is not None and first[:2] == b"\xbe\xef" and first[2:] == wire[2:]
    clock.now += 2.5
    later = dns.message.from_wire(table.replay(again) or b"")
    assert later.answer[0].ttl == 298 and later.id == 0xBEEF
    upper = dns.message.make_query("WWW.example.test", "A").to_wire()
    assert table.replay(upper) is None  # another letter case: the keyed level's business
    assert table.replay(again, tcp=True) is None  # stored for UDP: TCP may get another reply
    clock.now += 300
    assert table.replay(again) is None
    table.clear()
    assert not any(table.exact)
