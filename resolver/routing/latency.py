"""Latency: the member, or the pool, with the lowest round-trip time.

Measured RTT is the board's EWMA of health-check round trips from this server. A rule with
``latency: {REGION or CIDR: {pool: ms}}`` orders its pools by the client's row in that table
(most specific row: longest CIDR, then NA-US-CA over NA-US over NA, then ``*``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from resolver.routing.eligibility import Candidate
from resolver.routing.geomap import GeoInfo
from resolver.routing.spec import LatencyTable

UNKNOWN = float("inf")


def fastest(candidates: Sequence[Candidate]) -> Candidate:
    """The eligible candidate with the lowest RTT (unknown RTT last; ties: listed order)."""
    return min(candidates, key=lambda c: UNKNOWN if c.rtt is None else c.rtt)


def pool_rtt(candidates: Sequence[Candidate]) -> float:
    """A pool's measured RTT: the best of its eligible members."""
    rtts = [c.rtt for c in candidates if c.ok and c.rtt is not None]
    return min(rtts) if rtts else UNKNOWN


def table_row(table: LatencyTable, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
              geo: GeoInfo | None) -> tuple[str, dict[str, float]] | None:
    """The table row that applies to the client, with its key."""
    best: tuple[int, str] | None = None
    if ip is not None:
        for key in table.by_subnet:
            net = ipaddress.ip_network(key)
            if net.version == ip.version and ip in net and (best is None or
                                                            net.prefixlen > best[0]):
                best = (net.prefixlen, key)
    if best is not None:
        return best[1], dict(table.by_subnet[best[1]])
    if geo is not None:
        for code in geo.codes():
            if code in table.by_geo:
                return code, dict(table.by_geo[code])
    if "*" in table.by_geo:
        return "*", dict(table.by_geo["*"])
    return None


def order_by(pools: Sequence[str], cost: dict[str, float]) -> list[str]:
    """``pools`` sorted by cost (missing cost last), stable for ties."""
    return sorted(pools, key=lambda p: cost.get(p, UNKNOWN))
