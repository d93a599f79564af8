"""The stage with a fake upstream (coalescing, prefetch, stale), hints and forward specs."""

from __future__ import annotations

import asyncio

import dns.edns
import dns.name
import dns.rcode
import pytest

from resolver.errors import ConfigError
from resolver.model import Client, Query
from resolver.recursion.cache import Cache, CachePolicy
from resolver.recursion.forward import parse_forwarders
from resolver.recursion.hints import load_hints, parse_hints
from resolver.recursion.resolution import Reply, Send
from resolver.recursion.stage import RecursionStage
from tests.unit.recursion.fakenet import basic_tree


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeUpstream:
    """Answers from the fake tree after ``delay`` real seconds; ``down`` makes it time out."""

    def __init__(self, delay: float = 0.0) -> None:
        self.net = basic_tree()
        self.delay = delay
        self.down = False

    async def exchange(self, send: Send) -> Reply:
        await asyncio.sleep(self.delay)
        if self.down:
            return Reply(None, send.timeout, "timeout")
        return self.net.exchange(send)

    def close(self) -> None:
        pass


def _query(name: str = "www.example.test.", allowed: bool = True) -> Query:
    return Query(1, dns.name.from_text(name), 1, 1, 0, True, False, None,
                 Client("127.0.0.1", 5, "udp"), recursion_allowed=allowed)


def _stage(policy: CachePolicy | None = None, delay: float = 0.0):  # type: ignore[no-untyped-def]
    upstream = FakeUpstream(delay)
    ctx = upstream.net.context()
    ctx = type(ctx)(Cache(policy or CachePolicy()), ctx.servers, ctx.hints, rng=ctx.rng)
    clock = Clock()
    return RecursionStage(ctx, upstream, clock=clock, stale_client_timeout=0.2), upstream, clock


async def test_identical_questions_share_one_resolution() -> None:
    stage, upstream, _ = _stage(delay=0.01)
    answers = await asyncio.gather(*(stage.answer(_query()) for _ in range(10)))
    assert all(a.rcode == dns.rcode.NOERROR and a.answer for a in answers)
    assert len(upstream.net.sent) == 3
    assert stage.coalesced == 9


async def test_cache_hit_is_synchronous_and_decrements() -> None:
    stage, _, clock = _stage()
    await stage.answer(_query())
    clock.now += 100
    hit = stage.answer(_query())
    assert not asyncio.iscoroutine(hit) and hit.answer[0].ttl == 200


async def test_popular_entry_near_expiry_is_prefetched() -> None:
    stage, upstream, clock = _stage()
    await stage.answer(_query())
    stage.answer(_query())
    clock.now += 290  # 10 s of 300 left
    sent = len(upstream.net.sent)
    stage.answer(_query())
    await asyncio.sleep(0.05)
    assert stage.prefetches == 1 and len(upstream.net.sent) == sent + 1
    clock.now += 20
    assert stage.answer(_query()).answer[0].ttl > 250, "refreshed before it expired"


async def test_stale_answer_when_upstream_is_down() -> None:
    stage, upstream, clock = _stage(CachePolicy(serve_stale=True))
    await stage.answer(_query())
    clock.now += 400
    upstream.down = True
    answer = await stage.answer(_query())
    assert answer.rcode == dns.rcode.NOERROR and answer.answer[0].ttl == 30
    assert answer.ede[0][0] == 3
    await stage.close()


def test_not_allowed_is_refused_with_ede_18_and_no_rd_is_not_ours() -> None:
    stage, _, _ = _stage()
    answer = stage.answer(_query(allowed=False))
    assert answer.rcode == dns.rcode.REFUSED and answer.ede[0][0] == 18
    no_rd = Query(1, dns.name.from_text("x.test."), 1, 1, 0, False, False, None,
                  Client("127.0.0.1", 5, "udp"), recursion_allowed=True)
    assert stage.answer(no_rd) is None


def test_bundled_hints_are_the_iana_root() -> None:
    hints = load_hints(None)
    assert len(hints.ns) == 13
    assert "198.41.0.4" in hints.all_addresses()


def test_bad_hints_and_forward_specs_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        parse_hints("example. 300 A 192.0.2.1\n")
    with pytest.raises(ConfigError):
        parse_forwarders(["no-equals-sign"])
    fwd = parse_forwarders(["corp.=127.0.0.53:5353", "corp.=127.0.0.54", ".=127.0.0.1"])
    found = fwd.find(dns.name.from_text("www.corp."))
    assert found is not None and found.servers == (("127.0.0.53", 5353), ("127.0.0.54", 53))
    assert fwd.find(dns.name.from_text("www.example.")).zone == dns.name.root


def test_edns_option_is_importable() -> None:
    assert dns.edns.EDEOption(3, "x").code == 3


async def test_upstream_refuses_non_loopback_in_tests() -> None:
    from resolver.recursion.upstream import Upstream

    upstream = Upstream()  # under pytest: loopback only, whatever the hints say
    assert upstream.loopback_only
    send = Send("198.41.0.4", 53, dns.name.from_text("."), 2, False, True, 0.5)
    reply = await upstream.exchange(send)
    assert reply.message is None and reply.error == "unreachable" and upstream.sent == 0
