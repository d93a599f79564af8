"""One policy record (octoDNS YAML, as loaded by :mod:`yamlnodes`) -> frozen specs.

Every problem is collected as ``file:line: message``; nothing is raised. The caller
(:mod:`resolver.config.policies`) decides what a file with problems means.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rdatatype

from resolver.authority.load import Problem
from resolver.config.yamlnodes import LineDict, LineList
from resolver.routing.spec import (
    CHECK_PROTOCOLS,
    MODES,
    REPLICA_SOURCES,
    ROLES,
    STATUSES,
    HealthCheck,
    LatencyTable,
    Member,
    Pool,
    Replication,
    Rule,
    Timing,
    Where,
)

RECORD_KEYS = {"type", "ttl", "value", "values", "dynamic", "octodns"}
DYNAMIC_KEYS = {"pools", "rules", "on_all_down"}
POOL_KEYS = {"values", "fallback", "mode", "max_answers", "healthcheck", "replication"}
VALUE_KEYS = {"value", "weight", "status"}
RULE_KEYS = {"pool", "pools", "geos", "subnets", "latency"}
CHECK_KEYS = {"protocol", "port", "path", "host", "interval", "timeout", "rise", "fall",
              "expect", "body", "query", "query_type"}
REPLICATION_KEYS = {"role", "source", "port", "path", "max_lag", "resume_lag", "interval",
                    "timeout", "rise", "fall"}
ROUTED_TYPES = {"A": dns.rdatatype.A, "AAAA": dns.rdatatype.AAAA, "CNAME": dns.rdatatype.CNAME}
CONTINENTS = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}
MAX_WEIGHT = 255
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass
class Ctx:
    """Where problems go, and the file they are in."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def where(self, line: int) -> Where:
        return Where(self.file, line)


def line_of(node: Any, default: int = 1) -> int:
    return getattr(node, "line", default)


def known_keys(ctx: Ctx, node: Any, allowed: set[str], what: str) -> bool:
    """Report unknown and duplicate keys; False when ``node`` is not a mapping at all."""
    if not isinstance(node, dict):
        ctx.problem(line_of(node), f"{what} must be a mapping")
        return False
    for key in node:
        if key not in allowed:
            ctx.problem(_key_line(node, key), f"unknown key '{key}' in {what}")
    for key, line in getattr(node, "duplicates", ()):
        ctx.problem(line, f"duplicate key '{key}' in {what}")
    return True


def _key_line(node: Any, key: Any) -> int:
    return node.line_of(key) if isinstance(node, LineDict) else line_of(node)


def duration(ctx: Ctx, node: Any, key: str, default: float) -> float:
    value = node.get(key)
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None:
        ctx.problem(_key_line(node, key), f"'{key}' must be a duration like 500ms, 10s or 5m")
        return default
    return float(match.group(1)) * _UNITS[match.group(2)]


def integer(ctx: Ctx, node: Any, key: str, default: int, low: int, high: int) -> int:
    value = node.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        ctx.problem(_key_line(node, key), f"'{key}' must be an integer from {low} to {high}")
        return default
    return value


def choice(ctx: Ctx, node: Any, key: str, options: tuple[str, ...], default: str,
           upper: bool = False) -> str:
    value = node.get(key, default)
    text = str(value).upper() if upper else str(value).lower()
    if text not in options:
        ctx.problem(_key_line(node, key), f"'{key}' must be one of {', '.join(options)}")
        return default
    return text


def timing(ctx: Ctx, node: Mapping[str, Any], base: Timing) -> Timing:
    interval = duration(ctx, node, "interval", base.interval)
    default_timeout = min(base.timeout, interval / 2) if "interval" in node else base.timeout
    timeout = duration(ctx, node, "timeout", default_timeout)
    if interval <= 0 or timeout <= 0:
        ctx.problem(line_of(node), "'interval' and 'timeout' must be more than 0")
    elif timeout > interval:
        ctx.problem(_key_line(node, "timeout"), "'timeout' must not exceed 'interval'")
    return Timing(interval, timeout, integer(ctx, node, "rise", base.rise, 1, 100),
                  integer(ctx, node, "fall", base.fall, 1, 100))


def healthcheck(ctx: Ctx, node: Any, fqdn: str | None,
                base: HealthCheck | None = None) -> HealthCheck | None:
    """``octodns.healthcheck`` (or a pool's ``healthcheck``); keys not given come from ``base``."""
    base = base or HealthCheck(host=fqdn)
    if not known_keys(ctx, node, CHECK_KEYS, "healthcheck"):
        return base
    protocol = choice(ctx, node, "protocol", CHECK_PROTOCOLS, base.protocol, upper=True)
    if protocol == "NONE":
        return None
    default_port = {"HTTP": 80, "HTTPS": 443, "DNS": 53}.get(protocol, base.port)
    port = integer(ctx, node, "port", base.port if "protocol" not in node else default_port,
                   1, 65535)
    expect = node.get("expect", list(base.expect_status))
    if isinstance(expect, int) and not isinstance(expect, bool):
        expect = [expect]
    if not isinstance(expect, list) or not all(
        isinstance(c, int) and 100 <= c <= 599 for c in expect
    ):
        ctx.problem(_key_line(node, "expect"), "'expect' must list HTTP status codes")
        expect = list(base.expect_status)
    query_type = str(node.get("query_type", base.query_type)).upper()
    try:
        dns.rdatatype.from_text(query_type)
    except Exception:
        ctx.problem(_key_line(node, "query_type"), f"unknown query_type '{query_type}'")
        query_type = base.query_type
    body = node.get("body", base.expect_body)
    return HealthCheck(
        protocol=protocol, port=port, path=str(node.get("path", base.path)),
        host=str(node["host"]) if node.get("host") is not None else base.host,
        expect_status=tuple(expect), expect_body=None if body is None else str(body),
        query_name=str(node["query"]) if node.get("query") else base.query_name or fqdn,
        query_type=query_type, timing=timing(ctx, node, base.timing),
    )


def replication(ctx: Ctx, node: Any) -> Replication | None:
    if not known_keys(ctx, node, REPLICATION_KEYS, "replication"):
        return None
    if "role" not in node:
        ctx.problem(line_of(node), "replication needs a 'role' (primary or replica)")
    role = choice(ctx, node, "role", ROLES, "primary")
    source = choice(ctx, node, "source", REPLICA_SOURCES, "json")
    max_lag = duration(ctx, node, "max_lag", 10.0)
    resume = duration(ctx, node, "resume_lag", max_lag * 0.8)
    if resume > max_lag:
        ctx.problem(_key_line(node, "resume_lag"), "'resume_lag' must not exceed 'max_lag'")
        resume = max_lag
    default_path = "/patroni" if source == "patroni" else "/status"
    return Replication(
        role=role, source=source, port=integer(ctx, node, "port", 8008, 1, 65535),
        path=str(node.get("path", default_path)), max_lag=max_lag, resume_lag=resume,
        timing=timing(ctx, node, Replication(role).timing),
    )


def members(ctx: Ctx, node: Any, rdtype: int, pool_name: str) -> tuple[Member, ...]:
    if not isinstance(node, list) or not node:
        ctx.problem(line_of(node), f"pool '{pool_name}' needs a non-empty 'values' list")
        return ()
    out = []
    for index, item in enumerate(node):
        line = node.line_of(index) if isinstance(node, LineList) else line_of(node)
        if not isinstance(item, dict):
            item = {"value": item}
        elif not known_keys(ctx, item, VALUE_KEYS, f"a value of pool '{pool_name}'"):
            continue
        value = normalize_value(ctx, line_of(item, line), item.get("value"), rdtype)
        weight = integer(ctx, item, "weight", 1, 0, MAX_WEIGHT)
        status = choice(ctx, item, "status", STATUSES, "obey")
        if value is not None:
            out.append(Member(value, weight, status))
    seen = [m.value for m in out]
    for value in {v for v in seen if seen.count(v) > 1}:
        ctx.problem(line_of(node), f"value {value} is listed twice in pool '{pool_name}'")
    return tuple(out)


def normalize_value(ctx: Ctx, line: int, value: Any, rdtype: int) -> str | None:
    """A value as rdata text: a valid address of the family, or an absolute CNAME target."""
    if value is None or isinstance(value, bool | dict | list):
        ctx.problem(line, "a value is missing or not a string")
        return None
    text = str(value).strip()
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            ctx.problem(line, f"'{text}' is not an IP address")
            return None
        if address.version != (4 if rdtype == dns.rdatatype.A else 6):
            ctx.problem(line, f"'{text}' is not an {dns.rdatatype.to_text(rdtype)} address")
            return None
        return str(address)
    try:
        return dns.name.from_text(text).to_text()
    except Exception:
        ctx.problem(line, f"'{text}' is not a domain name")
        return None


def pool(ctx: Ctx, pool_id: str, name: str, node: Any, rdtype: int,
         check: HealthCheck | None, resolve_fallback: Mapping[str, str]) -> Pool | None:
    if not known_keys(ctx, node, POOL_KEYS, f"pool '{name}'"):
        return None
    mode = choice(ctx, node, "mode", MODES, "weighted")
    repl = replication(ctx, node["replication"]) if "replication" in node else None
    own_check: HealthCheck | None = check
    if "healthcheck" in node:
        own_check = healthcheck(ctx, node["healthcheck"], check.host if check else None, check)
    elif repl is not None:
        own_check = None  # the replica status poll is the health signal
    fallback = node.get("fallback")
    if fallback is not None:
        target = resolve_fallback.get(str(fallback))
        if target is None:
            ctx.problem(_key_line(node, "fallback"), f"pool '{name}' falls back to unknown "
                        f"pool '{fallback}'")
        fallback = target
    return Pool(
        id=pool_id, name=name, members=members(ctx, node.get("values"), rdtype, name),
        mode=mode, max_answers=integer(ctx, node, "max_answers", 8, 1, 64), fallback=fallback,
        healthcheck=own_check, replication=repl, where=ctx.where(line_of(node)),
    )


def rule(ctx: Ctx, node: Any, index: int, resolve: Mapping[str, str]) -> Rule | None:
    if not known_keys(ctx, node, RULE_KEYS, f"rule {index + 1}"):
        return None
    line = line_of(node)
    names = node.get("pools", [node["pool"]] if "pool" in node else [])
    if "pool" in node and "pools" in node:
        ctx.problem(line, f"rule {index + 1} has both 'pool' and 'pools'")
    if not isinstance(names, list) or not names:
        ctx.problem(line, f"rule {index + 1} names no pool")
        return None
    ids = []
    for pool_name in names:
        pool_id = resolve.get(str(pool_name))
        if pool_id is None:
            ctx.problem(line, f"rule {index + 1} uses unknown pool '{pool_name}'")
        else:
            ids.append(pool_id)
    geos = tuple(_geo(ctx, line, g) for g in _strings(ctx, node, "geos"))
    subnets = tuple(_subnet(ctx, line, s) for s in _strings(ctx, node, "subnets"))
    latency, table = _latency(ctx, node, resolve)
    if len(ids) > 1 and latency is None:
        ctx.problem(line, f"rule {index + 1} lists several pools but has no 'latency'")
    return Rule(tuple(ids), tuple(g for g in geos if g), tuple(s for s in subnets if s),
                latency, table, ctx.where(line))


def _strings(ctx: Ctx, node: Mapping[str, Any], key: str) -> list[str]:
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        ctx.problem(_key_line(node, key), f"'{key}' must be a list")
        return []
    return [str(v) for v in value]


def _geo(ctx: Ctx, line: int, text: str) -> str:
    parts = text.strip().upper().split("-")
    ok = parts[0] in CONTINENTS and len(parts) <= 3
    if ok and len(parts) >= 2:
        ok = len(parts[1]) == 2 and parts[1].isalpha()
    if ok and len(parts) == 3:
        ok = 1 <= len(parts[2]) <= 3 and parts[2].isalnum()
    if not ok:
        ctx.problem(line, f"'{text}' is not a geo code (EU, EU-FR, NA-US-CA)")
        return ""
    return "-".join(parts)


def _subnet(ctx: Ctx, line: int, text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError as exc:
        ctx.problem(line, f"bad subnet '{text}': {exc}")
        return ""


def _latency(ctx: Ctx, node: Mapping[str, Any],
             resolve: Mapping[str, str]) -> tuple[str | None, LatencyTable | None]:
    value = node.get("latency")
    if value is None:
        return None, None
    line = _key_line(node, "latency")
    if value == "measured":
        return "measured", None
    if not isinstance(value, dict):
        ctx.problem(line, "'latency' must be 'measured' or a table of region -> {pool: ms}")
        return None, None
    by_geo: dict[str, dict[str, float]] = {}
    by_subnet: dict[str, dict[str, float]] = {}
    for region, costs in value.items():
        if not isinstance(costs, dict):
            ctx.problem(line, f"latency row '{region}' must map pools to milliseconds")
            continue
        row = {}
        for pool_name, ms in costs.items():
            pool_id = resolve.get(str(pool_name))
            if pool_id is None:
                ctx.problem(line, f"latency row '{region}' uses unknown pool '{pool_name}'")
            elif not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
                ctx.problem(line, f"latency of '{pool_name}' in '{region}' must be >= 0 ms")
            else:
                row[pool_id] = float(ms)
        if "/" in str(region):
            key = _subnet(ctx, line, str(region))
            if key:
                by_subnet[key] = row
        elif str(region) == "*":
            by_geo["*"] = row
        else:
            key = _geo(ctx, line, str(region))
            if key:
                by_geo[key] = row
    return "table", LatencyTable(by_geo, by_subnet)
