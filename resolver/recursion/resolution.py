"""One client question resolved iteratively: a sans-I/O state machine.

Drive it like dnspython's ``_Resolution``::

    step = resolution.start(now)
    while isinstance(step, Send):
        step = resolution.on_reply(await upstream.exchange(step), now)
    result = step.result

The machine never touches a socket or the clock: ``now`` comes in with every call, and the
random source is in the :class:`Context`. It reads and writes the cache and the per-server
statistics. Internally it is a generator: ``yield Send`` suspends until the reply comes back,
which keeps nested work (a glueless NS name resolved on the side, a CNAME restarted from the
closest cached delegation) as plain, readable code.

Every client question carries one :class:`Budget`: referrals followed, glueless lookups,
chain links, upstream queries and a deadline. Exhausting any of them ends the resolution
with SERVFAIL and an Extended DNS Error (RFC 8914) saying which, so a hostile zone cannot
turn one query into thousands (NXNSAttack) and a dead zone cannot hold a client.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from resolver.recursion.cache import Cache, Rank
from resolver.recursion.classify import Classified, Kind, classify, synthesized_cname
from resolver.recursion.forward import Forwarders, ForwardZone
from resolver.recursion.hints import RootHints
from resolver.recursion.servers import Servers

A, AAAA, NS, CNAME, DNAME, DS = (
    dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.NS, dns.rdatatype.CNAME,
    dns.rdatatype.DNAME, dns.rdatatype.DS,
)
EDE_OTHER, EDE_STALE, EDE_NO_REACHABLE_AUTHORITY, EDE_INVALID_DATA = 0, 3, 22, 24
MAX_MINIMISE = 10  # RFC 9156 MAX_MINIMISE_COUNT


@dataclass(frozen=True, slots=True)
class Limits:
    """Work bounds per client question (NXNSAttack and friends)."""

    max_referrals: int = 30
    max_glueless: int = 10  # NS names looked up because a referral had no glue
    max_chain: int = 16  # CNAME + DNAME links in one answer
    max_queries: int = 60  # upstream queries, all nested work included
    max_depth: int = 4  # glueless lookups inside glueless lookups
    tries_per_server: int = 3  # a server that drops one packet in two still gets through
    timeout: float = 4.0  # seconds; a client typically gives up after 5


@dataclass(frozen=True, slots=True)
class Send:
    """Ask ``address:port`` this question; wait at most ``timeout`` seconds."""

    address: str
    port: int
    qname: dns.name.Name
    qtype: int
    rd: bool
    edns: bool
    timeout: float


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back for a :class:`Send`: a validated message, or why there is none."""

    message: dns.message.Message | None
    rtt: float = 0.0
    error: str = ""  # "timeout" | "unreachable" | "network" when message is None


@dataclass(frozen=True, slots=True)
class Result:
    rcode: int
    answer: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()
    ede: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Done:
    result: Result


@dataclass(frozen=True, slots=True)
class Context:
    """What resolutions share: the cache, server statistics, hints, forwarders, rng."""

    cache: Cache
    servers: Servers
    hints: RootHints
    forwarders: Forwarders = field(default_factory=Forwarders)
    limits: Limits = field(default_factory=Limits)
    rng: random.Random = field(default_factory=random.Random)
    minimise: bool = True


class Failed(Exception):
    """Ends a resolution with SERVFAIL and this EDE. ``spent``: a budget ran out, so nested
    work must not swallow it."""

    def __init__(self, code: int, text: str, spent: bool = False) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.spent = spent


@dataclass(slots=True)
class Budget:
    deadline: float
    queries: int = 0
    referrals: int = 0
    glueless: int = 0


@dataclass(frozen=True, slots=True)
class Cached:
    """What the cache alone says about a question: a complete answer or a chain to go on."""

    rcode: int
    chain: tuple[dns.rrset.RRset, ...]
    soa: dns.rrset.RRset | None
    complete: bool
    next_name: dns.name.Name
    stale: bool = False
    min_remaining: float = 0.0  # the soonest expiry among what was used (for prefetch)
    original_ttl: int = 0
    hits: int = 0


def from_cache(
    cache: Cache, qname: dns.name.Name, qtype: int, now: float, *, stale: bool = False,
    max_links: int = 16,
) -> Cached | None:
    """Answer from the cache alone, following cached CNAMEs (and DNAMEs) as far as they go."""
    chain: list[dns.rrset.RRset] = []
    name = qname
    any_stale = False
    remaining = float("inf")
    for _ in range(max_links + 1):
        hit = cache.get(name, qtype, now, stale=stale)
        if hit is not None:
            chain.append(hit.rrset)
            return Cached(0, tuple(chain), None, True, name, any_stale or hit.stale,
                          min(remaining, hit.remaining), hit.original_ttl, hit.hits)
        negative = cache.get_negative(name, qtype, now, stale=stale)
        if negative is not None:
            return Cached(negative.rcode, tuple(chain), negative.soa, True, name,
                          any_stale or negative.stale, min(remaining, negative.remaining))
        link = _cached_link(cache, name, qtype, now, stale)
        if link is None:
            break
        for rrset, hit_stale, hit_remaining in link[1]:
            chain.append(rrset)
            any_stale |= hit_stale
            remaining = min(remaining, hit_remaining)
        name = link[0]
    if not chain:
        return None
    return Cached(0, tuple(chain), None, False, name, any_stale, remaining)


def _cached_link(
    cache: Cache, name: dns.name.Name, qtype: int, now: float, stale: bool
) -> tuple[dns.name.Name, list[tuple[dns.rrset.RRset, bool, float]]] | None:
    if cache.dnames:
        ancestor = name
        while len(ancestor) > 1:
            ancestor = ancestor.parent()
            hit = cache.get(ancestor, DNAME, now, stale=stale)
            if hit is not None:
                try:
                    target = name.relativize(ancestor).concatenate(hit.rrset[0].target)
                except dns.name.NameTooLong:
                    return None
                cname = synthesized_cname(name, target, hit.rrset.ttl)
                return target, [(hit.rrset, hit.stale, hit.remaining),
                                (cname, hit.stale, hit.remaining)]
    if qtype == CNAME:
        return None
    hit = cache.get(name, CNAME, now, stale=stale)
    if hit is None:
        return None
    return hit.rrset[0].target, [(hit.rrset, hit.stale, hit.remaining)]


Step = Send | Done
_Gen = Generator[Send, Reply, "Result"]


class Resolution:
    """Resolve ``qname``/``qtype`` for one client question. See the module docstring."""

    def __init__(
        self, ctx: Context, qname: dns.name.Name, qtype: int, *, refresh: bool = False
    ) -> None:
        self.ctx = ctx
        self.qname = qname
        self.qtype = qtype
        self.refresh = refresh  # prefetch: ignore what the cache holds for the question itself
        self.now = 0.0
        self.budget = Budget(deadline=0.0)
        self.trace: list[str] = []
        self._gen: _Gen | None = None

    def start(self, now: float) -> Step:
        self.now = now
        self.budget = Budget(deadline=now + self.ctx.limits.timeout)
        self._gen = self._top()
        return self._advance(None)

    def on_reply(self, reply: Reply, now: float) -> Step:
        self.now = now
        return self._advance(reply)

    def _advance(self, reply: Reply | None) -> Step:
        assert self._gen is not None
        try:
            send = self._gen.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return Done(stop.value)
        return send

    # -- the resolution ------------------------------------------------------------------

    def _top(self) -> _Gen:
        try:
            return (yield from self._resolve(self.qname, self.qtype, 0, self.refresh))
        except Failed as failed:
            self.trace.append(f"failed: {failed.text}")
            return Result(dns.rcode.SERVFAIL, ede=((failed.code, failed.text),))

    def _resolve(self, qname: dns.name.Name, qtype: int, depth: int, refresh: bool) -> _Gen:
        """Follow the chain from ``qname``, from the cache where it can, else upstream."""
        limits = self.ctx.limits
        chain: list[dns.rrset.RRset] = []
        name = qname
        seen = {qname}
        while True:
            cached = None if refresh else from_cache(self.ctx.cache, name, qtype, self.now)
            refresh = False
            if cached is not None:
                chain.extend(cached.chain)
                if cached.complete:
                    soa = (cached.soa,) if cached.soa is not None else ()
                    return Result(cached.rcode, tuple(chain), soa)
                name = cached.next_name
            else:
                found = yield from self._iterate(name, qtype, depth)
                chain.extend(found.chain)
                if found.kind is Kind.ANSWER:
                    return Result(dns.rcode.NOERROR, self._clamped(chain))
                if found.kind in (Kind.NXDOMAIN, Kind.NODATA):
                    rcode = dns.rcode.NXDOMAIN if found.kind is Kind.NXDOMAIN else 0
                    soa = (self._negative_soa(found.soa),) if found.soa is not None else ()
                    return Result(rcode, self._clamped(chain), soa)
                assert found.target is not None
                name = found.target
            if sum(1 for r in chain if r.rdtype in (CNAME, DNAME)) > limits.max_chain:
                raise Failed(EDE_OTHER, f"CNAME chain longer than {limits.max_chain}")
            if name in seen:
                raise Failed(EDE_INVALID_DATA, f"CNAME loop at {name}")
            seen.add(name)

    def _iterate(self, name: dns.name.Name, qtype: int, depth: int) -> _Gen:
        """Ask servers for one name, going down referrals from the closest known cut."""
        forward = self.ctx.forwarders.find(name)
        if forward is not None:
            return (yield from self._forward(forward, name, qtype))
        zone, ns = self._closest(name, qtype)
        minimise = self.ctx.minimise
        extra = 1
        while True:
            qn, qt = name, qtype
            if minimise and len(name) > len(zone) + extra and extra <= MAX_MINIMISE:
                qn, qt = dns.name.Name(name.labels[-(len(zone) + extra):]), A
            found = yield from self._ask_zone(zone, ns, qn, qt, depth)
            if found.kind is Kind.REFERRAL:
                assert found.cut is not None and found.ns is not None
                self._store(found, qn, qt)
                self.budget.referrals += 1
                if self.budget.referrals > self.ctx.limits.max_referrals:
                    raise Failed(EDE_OTHER, "too many referrals", spent=True)
                if not name.is_subdomain(found.cut):
                    raise Failed(EDE_INVALID_DATA, f"referral to {found.cut} for {name}")
                zone, ns, extra = found.cut, found.ns, 1
                continue
            if qn != name:
                if found.kind is Kind.NXDOMAIN:
                    minimise = False  # relaxed (RFC 9156 §2.3): ask the full name instead
                else:
                    self._store(found, qn, qt)
                    extra += 1
                continue
            self._store(found, qn, qt)
            return found

    def _closest(self, name: dns.name.Name, qtype: int) -> tuple[dns.name.Name, dns.rrset.RRset]:
        """The deepest cut we hold servers for (DS is asked of the parent side of a cut)."""
        start = name.parent() if qtype == DS and len(name) > 1 else name
        hit = self.ctx.cache.closest_ns(start, self.now)
        if hit is None:
            return dns.name.root, self.ctx.hints.ns
        return hit.rrset.name, hit.rrset

    def _forward(self, forward: ForwardZone, name: dns.name.Name, qtype: int) -> _Gen:
        endpoints = list(forward.servers)
        found = yield from self._ask(forward.zone, endpoints, name, qtype, rd=True)
        if found is None:
            raise Failed(EDE_NO_REACHABLE_AUTHORITY, f"no forwarder for {forward.zone} answered")
        self._store(found, name, qtype)
        return found

    def _ask_zone(
        self, zone: dns.name.Name, ns: dns.rrset.RRset, qname: dns.name.Name, qtype: int,
        depth: int,
    ) -> _Gen:
        """Ask the servers of ``zone`` until one gives a usable answer; resolve glueless names
        one at a time, only when every known address has failed."""
        looked_up: set[dns.name.Name] = set()
        tries: dict[str, int] = {}
        while True:
            endpoints = self._addresses(zone, ns)
            found = yield from self._ask(zone, endpoints, qname, qtype, rd=False, tries=tries)
            if found is not None:
                return found
            target = self._glueless_candidate(zone, ns, looked_up, depth)
            if target is None:
                raise Failed(EDE_NO_REACHABLE_AUTHORITY, f"no reachable authority for {zone}")
            looked_up.add(target)
            self.budget.glueless += 1
            if self.budget.glueless > self.ctx.limits.max_glueless:
                raise Failed(EDE_OTHER, "too many glueless NS lookups", spent=True)
            self.trace.append(f"glueless lookup of {target} for {zone}")
            try:
                yield from self._resolve(target, A, depth + 1, False)
            except Failed as failed:
                if failed.spent:
                    raise
                self.trace.append(f"glueless {target}: {failed.text}")

    def _glueless_candidate(
        self, zone: dns.name.Name, ns: dns.rrset.RRset, done: set[dns.name.Name], depth: int
    ) -> dns.name.Name | None:
        if depth >= self.ctx.limits.max_depth:
            return None
        names = [rd.target for rd in ns]
        self.ctx.rng.shuffle(names)
        cache, now = self.ctx.cache, self.now
        for target in names:
            if target in done or target.is_subdomain(zone):
                continue  # an in-zone name without glue can only be found through the zone
            if cache.get(target, A, now) or cache.get_negative(target, A, now):
                continue
            return target
        return None

    def _addresses(self, zone: dns.name.Name, ns: dns.rrset.RRset) -> list[tuple[str, int]]:
        cache, now = self.ctx.cache, self.now
        out: list[tuple[str, int]] = []
        hinted = self.ctx.hints.addresses if zone == dns.name.root else ()
        for rd in ns:
            rrsets = [hit.rrset for t in (A, AAAA) if (hit := cache.get(rd.target, t, now))]
            if not rrsets:
                rrsets = [rrset for owner, rrset in hinted if owner == rd.target]
            out.extend((r.address, 53) for rrset in rrsets for r in rrset)
        return list(dict.fromkeys(out))

    def _ask(
        self,
        zone: dns.name.Name,
        endpoints: list[tuple[str, int]],
        qname: dns.name.Name,
        qtype: int,
        *,
        rd: bool,
        tries: dict[str, int] | None = None,
    ) -> Generator[Send, Reply, Classified | None]:
        """Send to the best endpoint until one answers usefully; None when none is left."""
        servers, limits = self.ctx.servers, self.ctx.limits
        tries = {} if tries is None else tries
        keys = {_key(a, p): (a, p) for a, p in endpoints}
        while True:
            key = servers.choose(list(keys), zone, self.now, self.ctx.rng, tries,
                                 limits.tries_per_server)
            if key is None:
                return None
            address, port = keys[key]
            left = self.budget.deadline - self.now
            if left < 0.05:
                raise Failed(EDE_NO_REACHABLE_AUTHORITY, f"timed out resolving {qname}",
                             spent=True)
            self.budget.queries += 1
            if self.budget.queries > limits.max_queries:
                raise Failed(EDE_OTHER, f"more than {limits.max_queries} upstream queries",
                             spent=True)
            tries[key] = tries.get(key, 0) + 1
            edns = servers.edns_ok(key, self.now)
            self.trace.append(f"ask {key} {qname}/{dns.rdatatype.to_text(qtype)} ({zone})")
            reply = yield Send(address, port, qname, qtype, rd, edns,
                               min(servers.rto(key), left))
            if reply.message is None:
                if reply.error == "unreachable":
                    servers.on_unreachable(key, self.now)
                else:
                    servers.on_timeout(key, self.now)
                self.trace.append(f"  {reply.error or 'timeout'}")
                continue
            servers.on_rtt(key, reply.rtt)
            rcode = reply.message.rcode()
            if edns and rcode in (dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.BADVERS):
                servers.mark_no_edns(key, self.now)  # an EDNS-unaware server: ask again plain
                tries[key] -= 1
                continue
            found = classify(reply.message, qname, qtype, zone, forwarding=rd)
            self.trace.append(f"  {found.kind.value} {found.reason}".rstrip())
            if found.kind is Kind.LAME:
                servers.mark_lame(key, zone, self.now)
                continue
            if found.kind is Kind.THROWAWAY:
                continue
            return found

    # -- the cache -----------------------------------------------------------------------

    def _store(self, found: Classified, qname: dns.name.Name, qtype: int) -> None:
        cache, now = self.ctx.cache, self.now
        rank = Rank.AUTH if found.authoritative else Rank.ANSWER
        if found.kind is Kind.REFERRAL:
            assert found.ns is not None
            cache.put(found.ns, Rank.GLUE, now)
            for glue in found.glue:
                cache.put(glue, Rank.GLUE, now)
            return
        for rrset in found.chain:
            cache.put(rrset, rank, now)
        if found.kind in (Kind.NXDOMAIN, Kind.NODATA) and found.target is not None:
            rcode = dns.rcode.NXDOMAIN if found.kind is Kind.NXDOMAIN else 0
            cache.put_negative(found.target, qtype, rcode, found.soa, now)

    def _clamped(self, chain: list[dns.rrset.RRset]) -> tuple[dns.rrset.RRset, ...]:
        policy = self.ctx.cache.policy
        out = []
        for rrset in chain:
            ttl = min(max(rrset.ttl, policy.min_ttl), policy.max_ttl)
            if ttl != rrset.ttl:
                rrset = rrset.copy()
                rrset.ttl = ttl
            out.append(rrset)
        return tuple(out)

    def _negative_soa(self, soa: dns.rrset.RRset) -> dns.rrset.RRset:
        """The SOA as a negative answer carries it: TTL = the negative TTL (RFC 2308 §3)."""
        copy = soa.copy()
        copy.ttl = min(soa.ttl, soa[0].minimum, self.ctx.cache.policy.max_negative_ttl)
        return copy


def _key(address: str, port: int) -> str:
    return address if port == 53 else f"{address}#{port}"
