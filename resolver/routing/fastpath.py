"""A fast path for policy-routed answers: the decision per query, the bytes prebuilt.

Static answers are replayed from wire bytes (``resolver/fastpath.py``); routed answers
cannot be, because each query may get another value. But the set of distinct answers is
small (one per value, or per healthy subset), so this table keeps one rendered reply per
(request shape, outcome) and per query only runs the router's decision, then splices the
client's ID and question into the stored bytes, exactly as the static table does.

With an ECS option (RFC 7871) the decision is made as the router's ``select`` makes it: for
the ECS address and source prefix, or for the source address when the prefix is 0. The reply
echoes the option with the decision's scope as the only option of the OPT record, the last
record; so a reply is kept per (request shape with the ECS family and prefix, outcome,
scope), less the address, and each query puts its own address at the end.

Only plain questions (as ``request_key`` accepts them) for A/AAAA names bound directly to a
policy take this path; CNAME chains, wildcards and everything else take the slow path.
The table is cleared whenever the snapshot (zones or policies) is replaced.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype

from resolver import codec
from resolver.authority.zone import Dynamic, Kind, Zone
from resolver.fastpath import replay, subnet_option, without_address
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
        self._wires: dict[tuple[bytes, int, int, int | None], tuple[object, bytes]] = {}
        self._subjects: dict[bytes, str] = {}  # ECS family and address -> the router's subject
        self.exact: tuple[dict[bytes, tuple[Any, ...]], ...] = ({}, {}, {}, {})
        self.hits = 0

    def clear(self, *_: object) -> None:
        self._names.clear()
        self._wires.clear()
        for level in self.exact:
            level.clear()

    def replay(self, data: bytes, index: int, address: str) -> bytes:
        """A request already in ``exact[index]``: decide, then splice (no parsing)."""
        slot, key, end, port, transport, allowed, ecs, subject = self.exact[index][data[2:]]
        return self._reply(slot, data, key, end, address, port, transport, allowed, ecs,
                           subject)

    def answer(self, data: bytes, key: bytes, end: int, address: str, port: int,
               transport: str, allowed: bool, index: int = -1, ecs: int = 0) -> bytes | None:
        """The reply to a plain request for a routed name, or None (not one: slow path).
        ``ecs``: where the request's ECS option starts, as ``request_key`` gives it."""
        question = key[: end - 12]
        slot = self._names.get(question)
        if slot is None:
            slot = self._resolve(data, end)
            if len(self._names) >= LIMIT:
                self._names.clear()
            self._names[question] = slot
        if not slot:
            return None
        subject = self._subject(data, ecs) if ecs and data[ecs + 6] else None
        name = data[12 : end - 4]
        if index >= 0 and name == name.lower():
            level = self.exact[index]
            if len(level) >= LIMIT:
                level.clear()
            level[data[2:]] = (slot, key, end, port, transport, allowed, ecs, subject)
        return self._reply(slot, data, key, end, address, port, transport, allowed, ecs,
                           subject)

    def _reply(self, slot: tuple[Any, ...], data: bytes, key: bytes, end: int, address: str,
               port: int, transport: str, allowed: bool, ecs: int, subject: str | None
               ) -> bytes:
        router, plan, entry, zone = slot
        if subject is None:  # no ECS, or source prefix 0: the source address (Router.select)
            routed: Routed = router.decide_plan(plan, entry, address, None)
        else:
            routed = router.decide_plan(plan, entry, subject, data[ecs + 6])
        signature = (key, routed.rcode, id(routed.rrset), routed.ecs_scope)
        stored = self._wires.get(signature)
        if stored is not None and stored[0] is routed.rrset:
            wire = stored[1]
        else:
            query = codec.decode(data, Client(address, port, transport), allowed)
            wire = codec.encode(query, _answer(routed, zone))
            if ecs:
                option = subnet_option(data, ecs)
                echo = option[:7] + bytes((routed.ecs_scope or 0,)) + option[8:]
                stored_wire = without_address(wire, echo)  # the address goes per query
                if stored_wire is None:
                    return wire  # not the shape the splice assumes: this reply, not kept
                wire = stored_wire
            if len(self._wires) >= LIMIT:
                self._wires.clear()
            self._wires[signature] = (routed.rrset, wire)
        self.hits += 1
        return replay(data, wire, end, ecs)

    def _subject(self, data: bytes, ecs: int) -> str:
        """The ECS address as the router is given it by the slow path (``ClientSubnet``)."""
        raw = data[ecs + 5 : ecs + 4 + data[ecs + 3]]  # family (low octet), prefix, scope, address
        subject = self._subjects.get(raw)
        if subject is None:
            address = raw[3:]
            if raw[0] == 1:
                subject = str(ipaddress.IPv4Address(address.ljust(4, b"\0")))
            else:
                subject = str(ipaddress.IPv6Address(address.ljust(16, b"\0")))
            if len(self._subjects) >= LIMIT:
                self._subjects.clear()
            self._subjects[raw] = subject
        return subject

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
    scope = routed.ecs_scope
    if routed.rcode != dns.rcode.NOERROR:
        return Answer(routed.rcode, True, stage="authority", ecs_scope=scope)
    if routed.rrset is None:
        return Answer(dns.rcode.NOERROR, True, (), (zone.negative_soa(),), ecs_scope=scope,
                      stage="authority")
    return Answer(dns.rcode.NOERROR, True, (routed.rrset,), ecs_scope=scope, stage="authority")
