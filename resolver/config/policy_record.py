"""One octoDNS record (a name's entry in ``policies/<zone>.yaml``) -> :class:`RecordPolicy`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dns.name
import dns.rdatatype

from resolver.config import policy_parse as pp
from resolver.routing.spec import ON_ALL_DOWN, HealthCheck, Pool, RecordPolicy, Rule

MAX_TTL = 2**31 - 1


def parse_record(ctx: pp.Ctx, zone: dns.name.Name, rel: str, node: Any,
                 shared: Mapping[str, Pool], line: int | None = None) -> RecordPolicy | None:
    """Parse one record (``line``: where its name is); problems go to ``ctx`` and None comes
    back when it is unusable."""
    if not pp.known_keys(ctx, node, pp.RECORD_KEYS, f"record '{rel}'"):
        return None
    line = line or pp.line_of(node)
    name = _name(ctx, zone, rel, line)
    type_text = str(node.get("type", "")).upper()
    rdtype = pp.ROUTED_TYPES.get(type_text)
    if rdtype is None:
        ctx.problem(line, f"record '{rel}': type '{type_text}' cannot be routed (A, AAAA or "
                    "CNAME); put it in the zone file")
        return None
    if name is None:
        return None
    fqdn = name.to_text(omit_final_dot=True)
    ttl = pp.integer(ctx, node, "ttl", 3600, 0, MAX_TTL)
    values = _values(ctx, node, rdtype)
    check = _record_check(ctx, node.get("octodns"), fqdn)
    dynamic = node.get("dynamic")
    pools: dict[str, Pool] = {}
    rules: tuple[Rule, ...] = ()
    on_all_down = "values"
    if dynamic is not None and pp.known_keys(ctx, dynamic, pp.DYNAMIC_KEYS, f"{fqdn} dynamic"):
        pools, rules = _dynamic(ctx, dynamic, fqdn, rdtype, check, shared)
        primary = any(p.replication and p.replication.role == "primary" for p in pools.values())
        on_all_down = pp.choice(ctx, dynamic, "on_all_down", ON_ALL_DOWN,
                                "servfail" if primary else "values")
    if on_all_down == "values" and not values:
        ctx.problem(line, f"{fqdn}: 'values' are needed (served when every pool is down)")
    return RecordPolicy(zone, name, rdtype, ttl, values, pools, rules, on_all_down,
                        ctx.where(line))


def _name(ctx: pp.Ctx, zone: dns.name.Name, rel: str, line: int) -> dns.name.Name | None:
    try:
        name = dns.name.from_text(rel, origin=zone) if rel not in ("", "@") else zone
    except Exception as exc:
        ctx.problem(line, f"'{rel}' is not a valid name: {exc}")
        return None
    if not name.is_subdomain(zone):
        ctx.problem(line, f"{name} is outside zone {zone}")
        return None
    return name


def _values(ctx: pp.Ctx, node: Mapping[str, Any], rdtype: int) -> tuple[str, ...]:
    raw = node.get("values", [node["value"]] if "value" in node else [])
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for index, item in enumerate(raw):
        line = raw.line_of(index) if hasattr(raw, "line_of") else pp.line_of(node)
        value = pp.normalize_value(ctx, line, item, rdtype)
        if value is not None:
            out.append(value)
    if rdtype == dns.rdatatype.CNAME and len(out) > 1:
        ctx.problem(pp.line_of(node), "a CNAME record has one value")
    return tuple(out)


def _record_check(ctx: pp.Ctx, octodns: Any, fqdn: str) -> HealthCheck | None:
    """``octodns.healthcheck``; other keys under ``octodns`` belong to providers: ignored."""
    default = HealthCheck(host=fqdn, query_name=fqdn)
    if octodns is None:
        return default
    if not isinstance(octodns, dict):
        ctx.problem(pp.line_of(octodns), "'octodns' must be a mapping")
        return default
    if "healthcheck" not in octodns:
        return default
    return pp.healthcheck(ctx, octodns["healthcheck"], fqdn, default)


def _dynamic(ctx: pp.Ctx, node: Mapping[str, Any], fqdn: str, rdtype: int,
             check: HealthCheck | None,
             shared: Mapping[str, Pool]) -> tuple[dict[str, Pool], tuple[Rule, ...]]:
    pools_node = node.get("pools")
    if not isinstance(pools_node, dict):
        ctx.problem(pp.line_of(node), f"{fqdn}: 'dynamic' needs 'pools'")
        pools_node = {}
    for key, line in getattr(pools_node, "duplicates", ()):
        ctx.problem(line, f"duplicate pool '{key}'")
    resolve = {name: name for name in shared}
    resolve.update({str(name): f"{fqdn}:{name}" for name in pools_node})
    pools: dict[str, Pool] = {}
    for name, pool_node in pools_node.items():
        pool = pp.pool(ctx, f"{fqdn}:{name}", str(name), pool_node, rdtype, check, resolve)
        if pool is not None:
            pools[pool.id] = pool
    rules_node = node.get("rules")
    if not isinstance(rules_node, list) or not rules_node:
        ctx.problem(pp.line_of(node), f"{fqdn}: 'dynamic' needs a list of 'rules'")
        rules_node = []
    rules = tuple(r for i, n in enumerate(rules_node) if (r := pp.rule(ctx, n, i, resolve)))
    for index, raw in enumerate(rules_node[:-1]):
        if isinstance(raw, dict) and not raw.get("geos") and not raw.get("subnets"):
            ctx.problem(pp.line_of(raw), f"rule {index + 1} matches every client, so the rules "
                        "after it are never used (the catch-all goes last)")
    _add_shared(pools, rules, shared)
    return pools, rules


def _add_shared(pools: dict[str, Pool], rules: tuple[Rule, ...],
                shared: Mapping[str, Pool]) -> None:
    """Shared pools named by rules or fallbacks join the record's pools (with their chains)."""
    wanted = [pid for rule in rules for pid in rule.pools]
    wanted += [p.fallback for p in pools.values() if p.fallback]
    while wanted:
        pool_id = wanted.pop()
        if pool_id in pools or pool_id not in shared:
            continue
        pools[pool_id] = shared[pool_id]
        if shared[pool_id].fallback:
            wanted.append(shared[pool_id].fallback)
