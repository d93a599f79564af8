"""Frozen policy specs: what ``policies/*.yaml`` say, after parsing and cross-checking.

Built by :mod:`resolver.config.policies`; read by the router, the health scheduler and the
board. Nothing here does I/O. A pool's ``id`` is its name for a shared pool
(``policies/pools.yaml``) or ``<record fqdn without final dot>:<pool>`` for a record's pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import dns.name

MODES = ("weighted", "random", "all", "latency")
ON_ALL_DOWN = ("values", "all", "nodata", "servfail")
STATUSES = ("up", "down", "obey")
CHECK_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "DNS", "NONE")
REPLICA_SOURCES = ("patroni", "json", "push")
ROLES = ("primary", "replica")


@dataclass(frozen=True, slots=True)
class Where:
    """The file and line a spec came from, for problems found after parsing."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Timing:
    interval: float = 10.0
    timeout: float = 3.0
    rise: int = 2
    fall: int = 3


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """How each value of a pool is probed (``octodns.healthcheck`` plus our extensions)."""

    protocol: str = "HTTPS"  # octoDNS defaults: HTTPS, port 443, path /_dns, host = fqdn
    port: int = 443
    path: str = "/_dns"
    host: str | None = None
    expect_status: tuple[int, ...] = (200,)
    expect_body: str | None = None
    query_name: str | None = None  # DNS checks: the question (default: the record's name)
    query_type: str = "A"
    timing: Timing = Timing()


@dataclass(frozen=True, slots=True)
class Replication:
    """Replica-aware pool: which role is answered and where roles and lag come from."""

    role: str  # "primary" | "replica"
    source: str = "json"  # "patroni" | "json" | "push"
    port: int = 8008
    path: str = "/status"  # json source only; patroni uses /patroni
    max_lag: float = 10.0
    resume_lag: float = 8.0  # hysteresis: a lagging replica is eligible again below this
    timing: Timing = Timing(interval=5.0, timeout=2.0, rise=1, fall=2)


@dataclass(frozen=True, slots=True)
class Member:
    value: str
    weight: int = 1
    status: str = "obey"  # octoDNS: up | down | obey (follow the health check)


@dataclass(frozen=True, slots=True)
class Pool:
    id: str
    name: str
    members: tuple[Member, ...]
    mode: str = "weighted"
    max_answers: int = 8
    fallback: str | None = None  # a pool id
    healthcheck: HealthCheck | None = None  # None: values are not probed (status decides)
    replication: Replication | None = None
    where: Where = Where("", 0)


@dataclass(frozen=True, slots=True)
class LatencyTable:
    """Client region (geo code) or network (CIDR) -> {pool id: expected RTT in ms}."""

    by_geo: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    by_subnet: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rule:
    pools: tuple[str, ...]  # pool ids; more than one only for latency rules
    geos: tuple[str, ...] = ()
    subnets: tuple[str, ...] = ()
    latency: str | None = None  # None | "measured" | "table"
    table: LatencyTable | None = None
    where: Where = Where("", 0)

    @property
    def catch_all(self) -> bool:
        return not self.geos and not self.subnets


@dataclass(frozen=True, slots=True)
class RecordPolicy:
    """One name and type whose answers are computed per query."""

    zone: dns.name.Name
    name: dns.name.Name
    rdtype: int
    ttl: int
    values: tuple[str, ...]
    pools: Mapping[str, Pool]  # every pool reachable from the rules (record and shared), by id
    rules: tuple[Rule, ...]
    on_all_down: str = "values"
    where: Where = Where("", 0)

    @property
    def fqdn(self) -> str:
        return self.name.to_text(omit_final_dot=True)

    @property
    def client_dependent(self) -> bool:
        return any(not r.catch_all or r.table is not None for r in self.rules)


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every policy served: records by (name, type), and shared pools by name."""

    records: Mapping[tuple[dns.name.Name, int], RecordPolicy] = field(default_factory=dict)
    shared: Mapping[str, Pool] = field(default_factory=dict)

    def pools(self) -> dict[str, Pool]:
        """Every pool in use, by id (shared pools once, however many records use them)."""
        out: dict[str, Pool] = dict(self.shared)
        for record in self.records.values():
            out.update(record.pools)
        return out

    def find(self, name: dns.name.Name, rdtype: int) -> RecordPolicy | None:
        """The policy for ``name``, or for the wildcard that covers it."""
        policy = self.records.get((name, rdtype))
        if policy is not None or len(name) < 2:
            return policy
        parent = name.parent()
        while len(parent) >= 1:
            policy = self.records.get((dns.name.Name((b"*",) + parent.labels), rdtype))
            if policy is not None:
                return policy
            if parent == dns.name.root:
                break
            parent = parent.parent()
        return None
