"""Which rule applies to a client, and what ECS scope that decision carries.

Rules are octoDNS's: ``subnets`` (longest matching prefix wins), ``geos`` (the most specific
match wins: subdivision over country over continent), and a catch-all. A subnet match beats a
geo match; among equals the earlier rule wins. No match and no catch-all: ``None`` (the
record's own values are served, as in octoDNS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from resolver.routing.geomap import IP, GeoDB, GeoInfo, Network, geo_matches, scope_for
from resolver.routing.spec import RecordPolicy


@dataclass(frozen=True, slots=True)
class Match:
    rule: int | None  # index in policy.rules
    why: str
    scope: int  # ECS scope the decision depended on (before capping at the source prefix)
    geo: GeoInfo | None = None


class RuleIndex:
    """A record's rules, pre-parsed for matching."""

    def __init__(self, policy: RecordPolicy) -> None:
        self.policy = policy
        self.subnets: list[tuple[int, Network]] = [
            (i, ipaddress.ip_network(s)) for i, r in enumerate(policy.rules) for s in r.subnets
        ]
        for rule in policy.rules:
            if rule.table is not None:
                self.subnets += [(-1, ipaddress.ip_network(s)) for s in rule.table.by_subnet]
        self.networks = [net for _, net in self.subnets]
        self.uses_geo = any(r.geos or (r.table and r.table.by_geo) for r in policy.rules)
        self.catch_all = next((i for i, r in enumerate(policy.rules) if r.catch_all), None)

    def match(self, ip: IP | None, geo_db: GeoDB | None) -> Match:
        if not self.subnets and not self.uses_geo:
            return Match(self.catch_all, "catch-all (no client-dependent rules)", 0)
        best: tuple[int, int, int] | None = None  # (kind, specificity, -index)
        why = ""
        scope = 0
        info = None
        if ip is not None:
            scope = scope_for(ip, self.networks)
            for index, net in self.subnets:
                if index >= 0 and ip in net and (best is None or (2, net.prefixlen, -index) > best):
                    best, why = (2, net.prefixlen, -index), f"subnet {net} contains {ip}"
            if self.uses_geo and geo_db is not None:
                info = geo_db.lookup(ip)
                scope = max(scope, info.prefix_len)
                if best is None:
                    best, why = self._geo(info)
        if best is not None:
            return Match(-best[2], why, scope, info)
        where = f"geo {info}" if info is not None else "no geo database" if self.uses_geo else ""
        if self.catch_all is not None:
            return Match(self.catch_all, f"catch-all ({where or 'no subnet matched'})", scope,
                         info)
        return Match(None, f"no rule matched ({where or 'no subnet matched'})", scope, info)

    def _geo(self, info: GeoInfo) -> tuple[tuple[int, int, int] | None, str]:
        best = None
        why = ""
        for index, rule in enumerate(self.policy.rules):
            for code in rule.geos:
                level = geo_matches(code, info)
                if level and (best is None or (1, level, -index) > best):
                    best, why = (1, level, -index), f"geo {code} matches {info}"
        return best, why
