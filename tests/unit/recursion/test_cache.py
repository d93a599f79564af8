"""The cache with a fake clock: TTL decrement, clamps, negative TTLs, LRU, stale, ranks."""

from __future__ import annotations

import dns.name
import dns.rcode
import dns.rrset

from resolver.recursion.cache import Cache, CachePolicy, Rank

NAME = dns.name.from_text("www.example.test.")


def _a(ttl: int, address: str = "192.0.2.1", name: str = "www.example.test.") -> dns.rrset.RRset:
    return dns.rrset.from_text(name, ttl, "IN", "A", address)


def _soa(ttl: int, minimum: int) -> dns.rrset.RRset:
    return dns.rrset.from_text("example.test.", ttl, "IN", "SOA",
                               f"ns.example.test. admin.example.test. 1 2 3 4 {minimum}")


def test_ttl_decrements_and_expires() -> None:
    cache = Cache()
    cache.put(_a(10), Rank.AUTH, now=100.0)
    assert cache.get(NAME, 1, 100.0).rrset.ttl == 10
    assert cache.get(NAME, 1, 103.5).rrset.ttl == 6
    assert cache.get(NAME, 1, 109.5) is None, "under one second left: gone"
    assert len(cache) == 0


def test_ttl_clamps() -> None:
    cache = Cache(CachePolicy(min_ttl=5, max_ttl=60))
    cache.put(_a(1), Rank.AUTH, 0.0)
    assert cache.get(NAME, 1, 0.0).rrset.ttl == 5
    cache.put(_a(86400), Rank.AUTH, 0.0)
    assert cache.get(NAME, 1, 0.0).rrset.ttl == 60


def test_negative_ttl_is_min_of_soa_ttl_and_minimum_capped() -> None:
    cache = Cache(CachePolicy(max_negative_ttl=100))
    cache.put_negative(NAME, 1, dns.rcode.NXDOMAIN, _soa(300, 30), 0.0)
    hit = cache.get_negative(NAME, 28, 10.0)
    assert hit is not None and hit.rcode == dns.rcode.NXDOMAIN and hit.soa.ttl == 20
    cache.put_negative(NAME, 16, dns.rcode.NOERROR, _soa(3600, 7200), 0.0)
    assert cache.get_negative(NAME, 16, 0.0).soa.ttl == 100
    cache.put_negative(NAME, 15, dns.rcode.NOERROR, None, 0.0)
    assert cache.get_negative(NAME, 15, 0.0) is None, "no SOA: not cached"


def test_positive_data_replaces_a_negative_entry() -> None:
    cache = Cache()
    cache.put_negative(NAME, 1, dns.rcode.NXDOMAIN, _soa(300, 300), 0.0)
    cache.put(_a(60), Rank.AUTH, 1.0)
    assert cache.get_negative(NAME, 1, 2.0) is None
    assert cache.get(NAME, 1, 2.0) is not None


def test_lru_size_limit() -> None:
    cache = Cache(CachePolicy(max_entries=2))
    cache.put(_a(60, name="a.test."), Rank.AUTH, 0.0)
    cache.put(_a(60, name="b.test."), Rank.AUTH, 0.0)
    cache.get(dns.name.from_text("a.test."), 1, 0.0)  # a is now the most recent
    cache.put(_a(60, name="c.test."), Rank.AUTH, 0.0)
    assert cache.get(dns.name.from_text("b.test."), 1, 0.0) is None
    assert cache.get(dns.name.from_text("a.test."), 1, 0.0) is not None


def test_glue_does_not_replace_an_authoritative_answer() -> None:
    cache = Cache()
    cache.put(_a(300, "192.0.2.1"), Rank.AUTH, 0.0)
    cache.put(_a(300, "192.0.2.66"), Rank.GLUE, 1.0)
    assert cache.get(NAME, 1, 2.0).rrset[0].address == "192.0.2.1"


def test_stale_only_when_enabled_and_asked() -> None:
    cache = Cache(CachePolicy(serve_stale=True, stale_window=100))
    cache.put(_a(10), Rank.AUTH, 0.0)
    assert cache.get(NAME, 1, 20.0) is None
    stale = cache.get(NAME, 1, 20.0, stale=True)
    assert stale is not None and stale.stale and stale.rrset.ttl == 30
    assert cache.get(NAME, 1, 200.0, stale=True) is None, "past the stale window"
    off = Cache()
    off.put(_a(10), Rank.AUTH, 0.0)
    assert off.get(NAME, 1, 20.0, stale=True) is None
