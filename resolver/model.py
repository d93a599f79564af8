"""Frozen values that cross module lines: who asked, what they asked, what we answer.

A query flows one way: bytes -> :class:`Query` -> stages -> :class:`Answer` -> bytes.
Stages read a ``Query`` and return an ``Answer`` (or ``None``: "not mine, next").
RRsets inside an ``Answer`` are dnspython objects and are never mutated after build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.edns
import dns.name
import dns.rcode
import dns.rrset

Section = tuple[dns.rrset.RRset, ...]


@dataclass(frozen=True, slots=True)
class ClientSubnet:
    """An EDNS Client Subnet option as received (RFC 7871)."""

    family: int  # 1 = IPv4, 2 = IPv6
    address: str  # network address, already masked to ``source_prefix``
    source_prefix: int
    scope_prefix: int = 0


@dataclass(frozen=True, slots=True)
class Client:
    """Where a query came from."""

    address: str
    port: int
    transport: str  # "udp" | "tcp"
    ecs: ClientSubnet | None = None

    @property
    def subject(self) -> str:
        """The address routing decisions are made for: the ECS network if sent, else the source."""
        return self.ecs.address if self.ecs is not None else self.address


@dataclass(frozen=True, slots=True)
class Edns:
    """The client's OPT record, reduced to what the server acts on."""

    version: int
    payload: int
    do: bool
    options: tuple[dns.edns.Option, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """One question, decoded. ``qname`` keeps the client's letter case."""

    id: int
    qname: dns.name.Name
    qtype: int
    qclass: int
    opcode: int
    rd: bool
    cd: bool
    edns: Edns | None
    client: Client
    recursion_allowed: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server says back, before it becomes bytes.

    ``cacheable`` means the wire form depends only on the question and the request's shape
    (EDNS, size, DO), so the fast path may replay it until the snapshot changes.
    ``ecs_scope`` is the scope prefix to put in an ECS reply (``None``: the answer did not
    depend on the client's address, scope 0).
    """

    rcode: int = dns.rcode.NOERROR
    authoritative: bool = False
    answer: Section = ()
    authority: Section = ()
    additional: Section = ()
    ecs_scope: int | None = None
    cacheable: bool = False
    ede: tuple[tuple[int, str], ...] = ()
    stage: str = ""
    trace: tuple[str, ...] = field(default=(), compare=False)


def refused(stage: str = "") -> Answer:
    return Answer(rcode=dns.rcode.REFUSED, stage=stage)


def servfail(stage: str = "", ede: tuple[tuple[int, str], ...] = ()) -> Answer:
    return Answer(rcode=dns.rcode.SERVFAIL, stage=stage, ede=ede)


@dataclass(frozen=True, slots=True)
class Routed:
    """A router's answer for one policy-bound name and type.

    ``rrset`` None with rcode NOERROR means NODATA (fail closed: ``on_all_down: nodata``);
    rcode SERVFAIL means ``on_all_down: servfail``. ``ecs_scope`` is the prefix length of the
    client address the decision depended on (0 or None: it did not).
    """

    rrset: dns.rrset.RRset | None
    rcode: int = dns.rcode.NOERROR
    ecs_scope: int | None = None
    trace: tuple[str, ...] = ()
