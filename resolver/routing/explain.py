"""``explain``: the answer a client would get, and why. Pure: zones, policies, one health
snapshot (plus a what-if ``down`` set), a geo database and the time in; an
:class:`Explanation` out. Used by ``resolver explain`` and the admin API's ``POST /explain``.
"""

from __future__ import annotations

import copy
import ipaddress
import time
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace
from typing import Any

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from resolver.authority.stage import resolve
from resolver.authority.store import ZoneStore
from resolver.health.model import HealthSnapshot
from resolver.model import Client, ClientSubnet, Query
from resolver.routing.geomap import GeoDB
from resolver.routing.router import Router
from resolver.routing.spec import PolicySet
from resolver.routing.weighted import SmoothWRR


class ExplainError(ValueError):
    """A bad request; ``field`` names the argument at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    name: str
    client: str
    type: str = "A"
    ecs: str | None = None  # "198.51.100.0/24"
    down: tuple[str, ...] = ()  # values, or "<pool id>/<value>"


@dataclass(frozen=True, slots=True)
class Explanation:
    name: str
    type: str
    client: str
    ecs: str | None
    rcode: str
    answer: tuple[str, ...]
    ttl: int | None
    ecs_scope: int | None
    down: tuple[str, ...]
    trace: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [f";; {self.name} {self.type} for client {self.client}"
                 + (f" ECS {self.ecs}" if self.ecs else "")
                 + (f", as if down: {', '.join(self.down)}" if self.down else ""),
                 f";; rcode {self.rcode}, ttl {self.ttl}, ECS scope {self.ecs_scope}"]
        lines += list(self.answer) or [";; (no records)"]
        lines.append(";; why:")
        lines += [f";;   {line}" for line in self.trace]
        return "\n".join(lines)


def explain(zones: ZoneStore, policies: PolicySet, snapshot: HealthSnapshot,
            geo: GeoDB | None, request: ExplainRequest, now: float | None = None,
            wrr: SmoothWRR | None = None) -> Explanation:
    """What ``request.client`` would be answered. ``wrr``: the live round-robin state to copy,
    so the weighted pick shown is the one the next real query would get."""
    qname, qtype, client = _parse(request)
    moment = time.time() if now is None else now
    router = Router(policies, lambda: snapshot, geo, clock=lambda: moment,
                    wrr=copy.deepcopy(wrr) if wrr is not None else None,
                    down=frozenset(request.down), tracing=True)
    zone = zones.find(qname)
    base = dict(name=qname.to_text(), type=dns.rdatatype.to_text(qtype), client=request.client,
                ecs=request.ecs, down=tuple(request.down))
    if zone is None:
        return Explanation(**base, rcode="REFUSED", answer=(), ttl=None, ecs_scope=None,
                           trace=(f"no zone served here holds {qname}",))
    query = Query(0, qname, qtype, dns.rdataclass.IN, 0, False, False, None, client)
    answer = resolve(SimpleNamespace(zones=zones, router=router), zone, query)
    records = tuple(line for rrset in answer.answer for line in rrset.to_text().splitlines())
    trace = answer.trace or (f"static data from zone {zone.origin} ({zone.source})",)
    ttls = [rrset.ttl for rrset in answer.answer]
    if not ttls and answer.authority:
        ttls = [answer.authority[0].ttl]
    return Explanation(**base, rcode=dns.rcode.to_text(answer.rcode), answer=records,
                       ttl=min(ttls) if ttls else None, ecs_scope=answer.ecs_scope or 0,
                       trace=tuple(trace))


def _parse(request: ExplainRequest) -> tuple[dns.name.Name, int, Client]:
    try:
        qname = dns.name.from_text(request.name)
    except Exception as exc:
        raise ExplainError(f"bad name: {exc}", "name") from None
    try:
        qtype = dns.rdatatype.from_text(request.type.upper())
    except Exception:
        raise ExplainError(f"unknown type {request.type!r}", "type") from None
    try:
        address = str(ipaddress.ip_address(request.client))
    except ValueError:
        raise ExplainError(f"{request.client!r} is not an IP address", "client") from None
    ecs = None
    if request.ecs:
        try:
            net = ipaddress.ip_network(request.ecs, strict=False)
        except ValueError:
            raise ExplainError(f"{request.ecs!r} is not a subnet", "ecs") from None
        ecs = ClientSubnet(1 if net.version == 4 else 2, str(net.network_address),
                           net.prefixlen)
    return qname, qtype, Client(address, 0, "tcp", ecs)
