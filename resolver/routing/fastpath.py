"""A fast path for policy-routed answers: the decision per query, the bytes prebuilt.

Static answers are replayed from wire bytes (``resolver/fastpath.py``); routed answers
cannot be, because each query may get another value. But the set of distinct answers is
small (one per value, or per healthy subset), so this table keeps one rendered reply per
(request shape, outcome) and per query only runs the router's decision, then splices the
client's ID and question into the stored bytes, exactly as the static table does.

Only plain questions (no ECS: ``request_key`` refuses those) for A/AAAA names bound directly
to a policy take this path; CNAME chains, wildcards and everything else take the slow path.
The table is cleared whenever the snapshot (zones or policies) is replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype

from resolver import codec
from resolver.authority.zone import Dynamic, Kind, Zone
from resolver.model import Answer, Client, Routed

LIMIT = 65536
_ROUTABLE = (dns.rdatatype.A, dns.rdatatype.AAAA)
_NOT_ROUTED: tuple[()] = ()


class RoutedTable:
    """``exact[index]`` (index as in ``AnswerTable.exact``) maps a request without its ID to
    what :meth:`replay` needs, for requests seen before whose name was all lowercase."""

    def __init__(self, current: Callable[[], Any]) -> None:
        self._current = current  # -> the runtime snapshot (zones, router)
        self._names: dict[bytes, tuple[Any, ...]] = {}
        self._wires: dict[tuple[bytes, int, int], tuple[object, bytes]] = {}
        self.exact: tuple[dict[bytes, tuple[Any, ...]], ...] = ({}, {}, {}, {})
        self.hits = 0

    def clear(self, *_: object) -> None:
        self._names.clear()
        self._wires.clear()
        for level in self.exact:
            level.clear()

    def replay(self, data: bytes, index: int, address: str) -> bytes:
        """A request already in ``exact[index]``: decide, then splice (no parsing)."""
        slot, key, end, port, transport, allowed = self.exact[index][data[2:]]
        return self._reply(slot, data, key, end, address, port, transport, allowed)

    def answer(self, data: bytes, key: bytes, end: int, address: str, port: int,
               transport: str, allowed: bool, index: int = -1) -> bytes | None:
        """The reply to a plain request for a routed name, or None (not one: slow path)."""
        question = key[: end - 12]
        slot = self._names.get(question)
        if slot is None:
            slot = self._resolve(data, end)
            if len(self._names) >= LIMIT:
                self._names.clear()
            self._names[question] = slot
        if not slot:
            return None
        name = data[12 : end - 4]
        if index >= 0 and name == name.lower():
            level = self.exact[index]
            if len(level) >= LIMIT:
                level.clear()
            level[data[2:]] = (slot, key, end, port, transport, allowed)
        return self._reply(slot, data, key, end, address, port, transport, allowed)

    def _reply(self, slot: tuple[Any, ...], data: bytes, key: bytes, end: int, address: str,
               port: int, transport: str, allowed: bool) -> bytes:
        router, plan, entry, zone = slot
        routed: Routed = router.decide_plan(plan, entry, address, None)
        signature = (key, routed.rcode, id(routed.rrset))
        stored = self._wires.get(signature)
        if stored is not None and stored[0] is routed.rrset:
            wire = stored[1]
        else:
            query = codec.decode(data, Client(address, port, transport), allowed)
            wire = codec.encode(query, _answer(routed, zone))
            if len(self._wires) >= LIMIT:
                self._wires.clear()
            self._wires[signature] = (routed.rrset, wire)
        self.hits += 1
        return data[:2] + wire[2:12] + data[12:end] + wire[end:]

    def _resolve(self, data: bytes, end: int) -> tuple[Any, ...]:
        qtype = data[end - 4] << 8 | data[end - 3]
        if qtype not in _ROUTABLE:
            return _NOT_ROUTED
        snapshot = self._current()
        router = getattr(snapshot, "router", None)
        if router is None or not hasattr(router, "decide"):
            return _NOT_ROUTED
        try:
            name, _ = dns.name.from_wire(data, 12)
        except Exception:
            return _NOT_ROUTED
        name = name.canonicalize()
        zone: Zone | None = snapshot.zones.find(name)
        if zone is None:
            return _NOT_ROUTED
        found = zone.lookup(name, qtype)
        if found.kind is not Kind.ANSWER or found.wildcard or len(found.rrsets) != 1:
            return _NOT_ROUTED
        entry = found.rrsets[0]
        if not isinstance(entry, Dynamic):
            return _NOT_ROUTED
        policy = router.policies.find(entry.name, entry.rdtype)
        if policy is None:
            return _NOT_ROUTED
        return (router, router.plan(policy), entry, zone)


def _answer(routed: Routed, zone: Zone) -> Answer:
    """The Answer the authority stage builds for this outcome (same bytes either way)."""
    if routed.rcode != dns.rcode.NOERROR:
        return Answer(routed.rcode, True, stage="authority")
    if routed.rrset is None:
        return Answer(dns.rcode.NOERROR, True, (), (zone.negative_soa(),), stage="authority")
    return Answer(dns.rcode.NOERROR, True, (routed.rrset,), stage="authority")
