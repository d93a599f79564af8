"""The recursive cache: RRsets, negative answers and delegations, with absolute expiry.

Sans-I/O: every call takes ``now`` (seconds, monotonic). One ``cachetools.LRUCache`` holds
everything, so one size limit bounds it and the least recently used entries go first.

- Positive RRsets are keyed ``(name, type)``. TTLs are clamped to ``[min_ttl, max_ttl]`` on the
  way in and handed out decremented (whole seconds left). Data is ranked (RFC 2181 §5.4.1):
  glue and referral NS never replace an authoritative answer that is still fresh.
- Negative answers (RFC 2308) are keyed ``("-", name, type)``; NXDOMAIN uses type 0 and so
  covers every type at the name. Their TTL is ``min(SOA TTL, SOA MINIMUM)``, capped by
  ``max_negative_ttl``; a negative answer without an SOA is not cached.
- Expired entries are kept ``stale_window`` seconds when serve-stale (RFC 8767) is on, and
  handed out only when the caller asks for stale data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import cachetools
import dns.name
import dns.rdatatype
import dns.rrset

NXDOMAIN_KEY = 0


class Rank(enum.IntEnum):
    """How much we trust data, by where it came from (RFC 2181 §5.4.1, simplified)."""

    GLUE = 1  # additional-section addresses, NS from a referral
    ANSWER = 2  # non-authoritative answers (a forwarder's)
    AUTH = 3  # authoritative answers


@dataclass(frozen=True, slots=True)
class CachePolicy:
    max_entries: int = 100_000
    min_ttl: int = 0
    max_ttl: int = 86_400
    max_negative_ttl: int = 3_600
    serve_stale: bool = False
    stale_window: int = 86_400  # how long past expiry data may still be served stale
    stale_reply_ttl: int = 30  # RFC 8767 §4 recommends 30 s


@dataclass(frozen=True, slots=True)
class Hit:
    """A cached RRset as it should go out: TTL already decremented (or the stale reply TTL)."""

    rrset: dns.rrset.RRset
    stale: bool
    remaining: float  # seconds until expiry (negative when stale)
    original_ttl: int
    hits: int
    rank: Rank


@dataclass(frozen=True, slots=True)
class NegativeHit:
    rcode: int  # NXDOMAIN or NOERROR (NODATA)
    soa: dns.rrset.RRset | None  # decremented TTL
    stale: bool
    remaining: float


class _Entry:
    __slots__ = ("value", "expires", "ttl", "rank", "hits", "rcode")

    def __init__(
        self, value: dns.rrset.RRset | None, expires: float, ttl: int, rank: Rank, rcode: int = 0
    ) -> None:
        self.value = value
        self.expires = expires
        self.ttl = ttl
        self.rank = rank
        self.hits = 0
        self.rcode = rcode


def _with_ttl(rrset: dns.rrset.RRset, ttl: int) -> dns.rrset.RRset:
    copy = rrset.copy()
    copy.ttl = ttl
    return copy


class Cache:
    def __init__(self, policy: CachePolicy | None = None) -> None:
        self.policy = policy or CachePolicy()
        self._data: cachetools.LRUCache = cachetools.LRUCache(maxsize=self.policy.max_entries)
        self.dnames = 0  # DNAMEs ever stored: chain walks look for them only when non-zero

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()

    # -- writing ---------------------------------------------------------------------------

    def put(self, rrset: dns.rrset.RRset, rank: Rank, now: float) -> None:
        key = (rrset.name, rrset.rdtype)
        old = self._data.get(key)
        if old is not None and old.rank > rank and old.expires > now:
            return
        ttl = min(max(rrset.ttl, self.policy.min_ttl), self.policy.max_ttl)
        if ttl <= 0:
            self._data.pop(key, None)
            return
        self._data[key] = _Entry(_with_ttl(rrset, ttl), now + ttl, ttl, rank)
        if rrset.rdtype == dns.rdatatype.DNAME:
            self.dnames += 1
        self._data.pop(("-", rrset.name, rrset.rdtype), None)
        self._data.pop(("-", rrset.name, NXDOMAIN_KEY), None)

    def put_negative(
        self,
        name: dns.name.Name,
        rdtype: int,
        rcode: int,
        soa: dns.rrset.RRset | None,
        now: float,
    ) -> None:
        """Cache NXDOMAIN (for every type at ``name``) or NODATA (for ``rdtype``)."""
        if soa is None or len(soa) == 0:
            return
        ttl = min(soa.ttl, soa[0].minimum, self.policy.max_negative_ttl)
        ttl = max(ttl, min(self.policy.min_ttl, self.policy.max_negative_ttl))
        if ttl <= 0:
            return
        key = ("-", name, NXDOMAIN_KEY if rcode != 0 else rdtype)
        self._data[key] = _Entry(_with_ttl(soa, ttl), now + ttl, ttl, Rank.AUTH, rcode)
        if rcode == 0:
            self._data.pop(("-", name, NXDOMAIN_KEY), None)  # NODATA: the name exists now

    # -- reading ---------------------------------------------------------------------------

    def get(
        self, name: dns.name.Name, rdtype: int, now: float, *, stale: bool = False
    ) -> Hit | None:
        entry = self._fresh(self._data.get((name, rdtype)), (name, rdtype), now, stale)
        if entry is None:
            return None
        entry.hits += 1
        remaining = entry.expires - now
        is_stale = remaining <= 0
        ttl = self.policy.stale_reply_ttl if is_stale else int(remaining)
        assert entry.value is not None
        return Hit(_with_ttl(entry.value, max(ttl, 0)), is_stale, remaining, entry.ttl,
                   entry.hits, entry.rank)

    def get_negative(
        self, name: dns.name.Name, rdtype: int, now: float, *, stale: bool = False
    ) -> NegativeHit | None:
        for key in (("-", name, NXDOMAIN_KEY), ("-", name, rdtype)):
            entry = self._fresh(self._data.get(key), key, now, stale)
            if entry is None:
                continue
            remaining = entry.expires - now
            is_stale = remaining <= 0
            ttl = self.policy.stale_reply_ttl if is_stale else int(remaining)
            soa = _with_ttl(entry.value, max(ttl, 0)) if entry.value is not None else None
            return NegativeHit(entry.rcode, soa, is_stale, remaining)
        return None

    def _fresh(
        self, entry: _Entry | None, key: tuple, now: float, stale: bool
    ) -> _Entry | None:
        if entry is None:
            return None
        if entry.expires - now >= 1:
            return entry  # at least one whole second left: never hand out TTL 0 as fresh
        if self.policy.serve_stale and now - entry.expires < self.policy.stale_window:
            return entry if stale else None
        self._data.pop(key, None)
        return None

    def closest_ns(self, name: dns.name.Name, now: float) -> Hit | None:
        """The deepest fresh NS RRset cached at ``name`` or above it (the root excluded)."""
        while len(name) > 1:
            hit = self.get(name, dns.rdatatype.NS, now)
            if hit is not None:
                return hit
            name = name.parent()
        return None
