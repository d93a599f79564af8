"""The life of one query.

1. A transport (``transport/udp.py``, ``transport/tcp.py``) receives bytes. If the question
   and the request's shape are in the fast-path table (``fastpath.py``), the stored reply is
   patched with the ID and the client's letter case and sent: no parsing, no building.
2. Otherwise ``codec.decode`` builds a :class:`Query` (garbage gets FORMERR or is dropped).
3. :meth:`Pipeline.run` asks each stage in ``STAGES`` order; the first :class:`Answer` wins:
   - ``guard``: opcode, class and meta-type checks;
   - ``authority``: the longest-suffix zone; lookup gives ANSWER / CNAME / DNAME /
     DELEGATION / NXDOMAIN / NODATA; names bound to a policy ask the router, which reads
     one health snapshot;
   - ``recursion`` (when enabled and the client is allowed): cache, then iteration.
   No stage answered: REFUSED.
4. ``codec.encode`` adds EDNS, the ECS scope and EDE, and truncates with TC to the client's
   size. Cacheable answers go into the fast-path table.

Stages are sync (return ``Answer | None``) or async (return an awaitable of it), so a
fully authoritative server never creates a task per query. Every exception raised by a stage
is caught here once: it becomes SERVFAIL and is logged with the query id and stage name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Protocol

import dns.rcode

from resolver.model import Answer, Query, refused, servfail

log = logging.getLogger("resolver.pipeline")

StageResult = Answer | None | Awaitable[Answer | None]
# No stage took the query: REFUSED with Extended DNS Error 20 (Not Authoritative), as Knot
# and NSD answer names outside their zones.
NOT_AUTHORITATIVE = Answer(rcode=dns.rcode.REFUSED, ede=((20, ""),), stage="pipeline")


class Stage(Protocol):
    name: str

    def answer(self, query: Query) -> StageResult: ...


class Pipeline:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    def run(self, query: Query) -> Answer | Awaitable[Answer]:
        """The answer now, or an awaitable when a stage must wait on the network."""
        return self._run_from(0, query)

    def _run_from(self, first: int, query: Query) -> Answer | Awaitable[Answer]:
        stages = self.stages
        for index in range(first, len(stages)):
            stage = stages[index]
            try:
                result = stage.answer(query)
            except Exception:
                return _crashed(stage, query)
            if result is None:
                continue
            if isinstance(result, Answer):
                return result
            return self._finish(result, index, query)
        return NOT_AUTHORITATIVE

    async def _finish(
        self, pending: Awaitable[Answer | None], index: int, query: Query
    ) -> Answer:
        try:
            result = await pending
        except Exception:
            return _crashed(self.stages[index], query)
        if result is not None:
            return result
        rest = self._run_from(index + 1, query)
        return rest if isinstance(rest, Answer) else await rest


def _crashed(stage: Stage, query: Query) -> Answer:
    log.exception(
        "stage %s failed on query id=%d %s/%d from %s",
        stage.name, query.id, query.qname, query.qtype, query.client.address,
    )
    return servfail(stage.name)


class Guard:
    """First stage: what no later stage should see. Verdicts follow Knot and NSD where they
    agree: zone transfers are refused over TCP (no transfer ACL grants them) and not
    implemented over UDP; classes other than IN and ANY name no zone here."""

    name = "guard"
    _TRANSFER_TYPES = frozenset({251, 252})  # IXFR, AXFR

    def answer(self, query: Query) -> Answer | None:
        if query.qtype in self._TRANSFER_TYPES:
            if query.client.transport == "tcp":
                return refused(self.name)
            return Answer(rcode=dns.rcode.NOTIMP, stage=self.name)
        if query.qclass != 1 and query.qclass != 255:  # IN, or ANY (answered with IN data)
            return refused(self.name)
        return None
