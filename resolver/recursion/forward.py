"""Forward zones: ``--forward ZONE=ADDR[:PORT]`` sends every name in ZONE to upstream resolvers.

The flag may repeat; several addresses for one zone are several upstreams to choose from.
The deepest matching zone wins, and ``.`` forwards everything. Forwarded questions are sent
with RD set and the answers are taken as they come (no referrals expected).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.name

from resolver.config.schema import parse_hostport
from resolver.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ForwardZone:
    zone: dns.name.Name
    servers: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Forwarders:
    zones: tuple[ForwardZone, ...] = ()

    def find(self, name: dns.name.Name) -> ForwardZone | None:
        """The deepest forward zone that holds ``name``."""
        best: ForwardZone | None = None
        for fz in self.zones:
            if name.is_subdomain(fz.zone) and (best is None or len(fz.zone) > len(best.zone)):
                best = fz
        return best


def parse_forwarders(specs: Iterable[str]) -> Forwarders:
    by_zone: dict[dns.name.Name, list[tuple[str, int]]] = {}
    for spec in specs:
        zone_text, sep, servers_text = spec.partition("=")
        if not sep or not zone_text.strip() or not servers_text.strip():
            raise ConfigError("forward", f"'{spec}' is not ZONE=ADDR[:PORT]")
        try:
            zone = dns.name.from_text(zone_text.strip())
        except dns.exception.DNSException as exc:
            raise ConfigError("forward", f"'{zone_text}' is not a zone name: {exc}") from None
        for server in servers_text.split(","):
            by_zone.setdefault(zone, []).append(parse_hostport(server, "forward"))
    return Forwarders(tuple(ForwardZone(z, tuple(s)) for z, s in by_zone.items()))
