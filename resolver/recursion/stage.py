"""The recursion stage: the cache first, then a :class:`Resolution` driven over the network.

It runs after the authority stage, so it only ever sees names outside our zones. A query
without RD is not ours (the pipeline REFUSES it); one with RD from a client outside
``allow_recursion`` is REFUSED with EDE 18 (Prohibited): never an open resolver.

- Cache hits are answered synchronously, no task created; popular entries close to expiry
  (under 10 % of their TTL left, asked at least twice) are refreshed in the background.
- Misses await one shared task per question: identical questions in flight are coalesced.
- Serve-stale (RFC 8767, off by default): when data has expired, a fresh resolution is tried
  for at most ``stale_client_timeout``; if it fails or is slow, the stale data goes out with
  TTL 30 and EDE 3 (Stale Answer) or 19 (Stale NXDOMAIN Answer), and the refresh goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import dns.name
import dns.rcode

from resolver.config.schema import ServerConfig
from resolver.model import Answer, Query
from resolver.recursion.cache import Cache, CachePolicy
from resolver.recursion.forward import parse_forwarders
from resolver.recursion.hints import load_hints
from resolver.recursion.resolution import (
    EDE_STALE,
    Cached,
    Context,
    Done,
    Resolution,
    Result,
    from_cache,
)
from resolver.recursion.servers import Servers
from resolver.recursion.upstream import Upstream

log = logging.getLogger("resolver.recursion")

EDE_PROHIBITED, EDE_STALE_NXDOMAIN = 18, 19
PREFETCH_FRACTION = 0.1
PREFETCH_MIN_HITS = 2
PREFETCH_MIN_TTL = 10

Key = tuple[dns.name.Name, int]


class RecursionStage:
    name = "recursion"

    def __init__(
        self,
        ctx: Context,
        upstream: Upstream,
        *,
        prefetch: bool = True,
        stale_client_timeout: float = 1.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.upstream = upstream
        self.prefetch = prefetch
        self.stale_client_timeout = stale_client_timeout
        self.clock = clock
        self._inflight: dict[Key, asyncio.Task[Result]] = {}
        self._background: set[asyncio.Task[Result]] = set()
        self.hits = 0
        self.misses = 0
        self.prefetches = 0
        self.coalesced = 0

    def answer(self, query: Query) -> Answer | None | Awaitable[Answer | None]:
        if not query.rd:
            return None
        if not query.recursion_allowed:
            return Answer(rcode=dns.rcode.REFUSED, stage=self.name,
                          ede=((EDE_PROHIBITED, "recursion not allowed for this client"),))
        now = self.clock()
        cached = from_cache(self.ctx.cache, query.qname, query.qtype, now)
        if cached is not None and cached.complete:
            self.hits += 1
            if self.prefetch:
                self._maybe_prefetch(query, cached)
            return Answer(rcode=cached.rcode, answer=cached.chain,
                          authority=(cached.soa,) if cached.soa is not None else (),
                          stage=self.name)
        self.misses += 1
        return self._resolve(query)

    async def _resolve(self, query: Query) -> Answer:
        task = self._task((query.qname, query.qtype), refresh=False)
        if self.ctx.cache.policy.serve_stale:
            stale = from_cache(self.ctx.cache, query.qname, query.qtype, self.clock(), stale=True)
            if stale is not None and stale.complete:
                return await self._fresh_or_stale(task, stale)
        return _to_answer(await asyncio.shield(task), self.name)

    async def _fresh_or_stale(self, task: asyncio.Task[Result], stale: Cached) -> Answer:
        with contextlib.suppress(TimeoutError):
            result = await asyncio.wait_for(asyncio.shield(task), self.stale_client_timeout)
            if result.rcode != dns.rcode.SERVFAIL:
                return _to_answer(result, self.name)
        code = EDE_STALE_NXDOMAIN if stale.rcode == dns.rcode.NXDOMAIN else EDE_STALE
        return Answer(rcode=stale.rcode, answer=stale.chain,
                      authority=(stale.soa,) if stale.soa is not None else (),
                      ede=((code, "serving stale data"),), stage=self.name)

    def _task(self, key: Key, refresh: bool) -> asyncio.Task[Result]:
        task = self._inflight.get(key)
        if task is not None:
            self.coalesced += 1
            return task
        task = asyncio.ensure_future(self._run(key, refresh))
        self._inflight[key] = task
        task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return task

    async def _run(self, key: Key, refresh: bool) -> Result:
        resolution = Resolution(self.ctx, key[0], key[1], refresh=refresh)
        step = resolution.start(self.clock())
        while not isinstance(step, Done):
            reply = await self.upstream.exchange(step)
            step = resolution.on_reply(reply, self.clock())
        if step.result.rcode == dns.rcode.SERVFAIL:
            log.info("SERVFAIL for %s/%d: %s; trace: %s", key[0], key[1], step.result.ede,
                     " | ".join(resolution.trace[-12:]))
        return step.result

    def _maybe_prefetch(self, query: Query, cached: Cached) -> None:
        if (cached.original_ttl < PREFETCH_MIN_TTL or cached.hits < PREFETCH_MIN_HITS
                or cached.min_remaining > cached.original_ttl * PREFETCH_FRACTION):
            return
        key = (query.qname, query.qtype)
        if key in self._inflight:
            return
        self.prefetches += 1
        task = self._task(key, refresh=True)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        tasks = [*self._inflight.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self.upstream.close()


def _to_answer(result: Result, stage: str) -> Answer:
    return Answer(rcode=result.rcode, answer=result.answer, authority=result.authority,
                  ede=result.ede, stage=stage)


def build_recursion(config: ServerConfig) -> RecursionStage:
    """The stage as the config asks for it; a bad hints file or forward spec is a ConfigError."""
    policy = CachePolicy(
        max_entries=max(config.cache_size, 1),
        min_ttl=config.cache_min_ttl,
        max_ttl=config.cache_max_ttl,
        max_negative_ttl=config.cache_max_negative_ttl,
        serve_stale=config.serve_stale,
    )
    ctx = Context(
        cache=Cache(policy),
        servers=Servers(),
        hints=load_hints(config.root_hints),
        forwarders=parse_forwarders(config.forward),
        minimise=config.qname_minimisation,
    )
    return RecursionStage(ctx, Upstream(), prefetch=config.prefetch)
