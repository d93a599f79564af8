"""Bytes in, bytes out, for every transport: fast path first, then the pipeline.

``QueryHandler.handle`` returns the reply bytes now, ``None`` (drop), or an awaitable of
either when a stage (recursion) must wait on the network.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Iterable
from typing import Protocol

from resolver import codec
from resolver.authority.negative import NegativeAnswers
from resolver.fastpath import AnswerTable, request_key
from resolver.model import Answer, Client, Query
from resolver.pipeline import Pipeline
from resolver.routing.fastpath import RoutedTable

log = logging.getLogger("resolver.handler")

Reply = bytes | None | Awaitable[bytes | None]
MAX_COUNTED = 4096  # (type, rcode, stage) counters kept for /metrics; bounded against junk


class RecentTable(Protocol):
    current: tuple[dict[bytes, bytes], ...]  # read by the UDP loop (recursion/wirecache.py)

    def clock(self) -> float: ...

    def turn_if_due(self, now: float) -> None: ...

    def replay(self, data: bytes, tcp: bool = False) -> bytes | None: ...

    def answer(self, data: bytes, key: bytes, question_end: int) -> bytes | None: ...

    def offer(self, key: bytes, wire: bytes, answer: Answer, request: bytes = b"",
              question_end: int = 0, tcp: bool = False) -> None: ...


class RecursionAcl:
    """Which clients may recurse; answers are memoised per address."""

    def __init__(self, enabled: bool, networks: Iterable[str]) -> None:
        self.enabled = enabled
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self._memo: dict[str, bool] = {}

    @property
    def uniform(self) -> bool | None:
        """The answer for every address when it does not depend on the address, else None."""
        return None if self.enabled and self.networks else False

    def allows(self, address: str) -> bool:
        if not self.enabled:
            return False
        allowed = self._memo.get(address)
        if allowed is None:
            allowed = self.enabled and _in_networks(address, self.networks)
            if len(self._memo) > 65536:
                self._memo.clear()
            self._memo[address] = allowed
        return allowed


def _in_networks(address: str, networks: tuple[ipaddress._BaseNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in networks)


class QueryHandler:
    def __init__(self, pipeline: Pipeline, acl: RecursionAcl, table: AnswerTable) -> None:
        self.pipeline = pipeline
        self.acl = acl
        self.table = table
        # (qtype, rcode, stage) -> queries answered by the pipeline; read by /metrics.
        self.counts: dict[tuple[int, int, str], int] = {}
        # Recursive answers replayed with TTLs patched (recursion/wirecache.py), when enabled.
        self.recent: RecentTable | None = None
        # Policy-routed names: a decision per query, replies prebuilt (routing/fastpath.py).
        self.routed: RoutedTable | None = None
        # NXDOMAIN for names not in a zone, written without dnspython (authority/negative.py).
        self.negative: NegativeAnswers | None = None

    def handle(self, data: bytes, address: str, port: int, transport: str) -> Reply:
        tcp = transport == "tcp"
        allowed = self.acl.allows(address)
        index = tcp << 1 | allowed
        tail = self.table.exact[index].get(data[2:])
        if tail is not None:
            self.table.hits += 1
            return data[:2] + tail
        recent = self.recent
        if recent is not None and allowed:
            reply = recent.replay(data, tcp)  # a recursive answer, TTLs counted down
            if reply is not None:
                return reply
        routed = self.routed
        if routed is not None and data[2:] in routed.exact[index]:
            return routed.replay(data, index, address)
        keyed = request_key(data, tcp, allowed)
        if keyed is not None:
            key, end, ecs = keyed
            reply = self.table.answer(data, key, end, ecs)
            if reply is not None:
                return reply
            if self.negative is not None:
                reply = self.negative.answer(data, end, allowed, tcp, ecs)
                if reply is not None:  # counted as the authority stage's NXDOMAIN, as before
                    self._count(data[end - 4] << 8 | data[end - 3], 3, "authority")
                    return reply
            if routed is not None:
                reply = routed.answer(data, key, end, address, port, transport, allowed, index,
                                      ecs)
                if reply is not None:
                    return reply
            if self.recent is not None and allowed and not ecs:  # recursion does no ECS
                reply = self.recent.answer(data, key, end)
                if reply is not None:
                    return reply
        try:
            query = codec.decode(data, Client(address, port, transport), allowed)
        except codec.Undecodable as exc:
            return exc.reply
        answer = self.pipeline.run(query)
        if isinstance(answer, Answer):
            return self._encode(query, answer, keyed, data, index)
        return self._encode_later(query, answer, keyed, data, index)

    async def _encode_later(
        self, query: Query, pending: Awaitable[Answer], keyed: tuple[bytes, int, int] | None,
        data: bytes, index: int,
    ) -> bytes | None:
        return self._encode(query, await pending, keyed, data, index)

    def _encode(
        self, query: Query, answer: Answer, keyed: tuple[bytes, int, int] | None, data: bytes,
        index: int,
    ) -> bytes:
        self._count(query.qtype, answer.rcode, answer.stage)
        try:
            wire = codec.encode(query, answer)
        except Exception:
            log.exception("cannot encode the answer to id=%d %s/%d", query.id, query.qname,
                          query.qtype)
            return codec.encode(query, Answer(rcode=2, stage="encode"))
        if keyed is None:
            return wire
        if answer.cacheable:
            self.table.store(keyed[0], wire, data, keyed[1], index, keyed[2])
        elif self.recent is not None and answer.stage == "recursion" and not keyed[2]:
            self.recent.offer(keyed[0], wire, answer, data, keyed[1], index >= 2)
        return wire

    def _count(self, qtype: int, rcode: int, stage: str) -> None:
        counts, key = self.counts, (qtype, rcode, stage)
        if key not in counts and len(counts) >= MAX_COUNTED:
            key = (0, rcode, stage)  # TYPE0: any other type, once full
        counts[key] = counts.get(key, 0) + 1
