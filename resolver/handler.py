"""Bytes in, bytes out, for every transport: fast path first, then the pipeline.

``QueryHandler.handle`` returns the reply bytes now, ``None`` (drop), or an awaitable of
either when a stage (recursion) must wait on the network.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Iterable

from resolver import codec
from resolver.fastpath import AnswerTable, request_key
from resolver.model import Answer, Client, Query
from resolver.pipeline import Pipeline

log = logging.getLogger("resolver.handler")

Reply = bytes | None | Awaitable[bytes | None]


class RecursionAcl:
    """Which clients may recurse; answers are memoised per address."""

    def __init__(self, enabled: bool, networks: Iterable[str]) -> None:
        self.enabled = enabled
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self._memo: dict[str, bool] = {}

    def allows(self, address: str) -> bool:
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

    def handle(self, data: bytes, address: str, port: int, transport: str) -> Reply:
        allowed = self.acl.allows(address)
        keyed = request_key(data, transport == "tcp", allowed)
        if keyed is not None:
            reply = self.table.answer(data, keyed[0], keyed[1])
            if reply is not None:
                return reply
        try:
            query = codec.decode(data, Client(address, port, transport), allowed)
        except codec.Undecodable as exc:
            return exc.reply
        answer = self.pipeline.run(query)
        if isinstance(answer, Answer):
            return self._encode(query, answer, keyed)
        return self._encode_later(query, answer, keyed)

    async def _encode_later(
        self, query: Query, pending: Awaitable[Answer], keyed: tuple[bytes, int] | None
    ) -> bytes | None:
        return self._encode(query, await pending, keyed)

    def _encode(self, query: Query, answer: Answer, keyed: tuple[bytes, int] | None) -> bytes:
        try:
            wire = codec.encode(query, answer)
        except Exception:
            log.exception("cannot encode the answer to id=%d %s/%d", query.id, query.qname,
                          query.qtype)
            return codec.encode(query, Answer(rcode=2, stage="encode"))
        if answer.cacheable and keyed is not None:
            self.table.store(keyed[0], wire)
        return wire
