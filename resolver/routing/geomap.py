"""Where a client is: a MaxMind database (continent, country, subdivision) and CIDR tables.

``GeoDB.lookup`` returns the codes in the form rules use (``EU``, ``EU-FR``, ``NA-US-CA``)
and the prefix length of the database network the address fell in, which bounds the ECS
scope of a geo decision. Lookups are memoised per address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CACHE_SIZE = 65536


@dataclass(frozen=True, slots=True)
class GeoInfo:
    continent: str | None
    country: str | None
    subdivision: str | None
    prefix_len: int

    def codes(self) -> list[str]:
        """Most specific first: ``NA-US-CA``, ``NA-US``, ``NA``."""
        out = []
        if self.continent:
            if self.country:
                if self.subdivision:
                    out.append(f"{self.continent}-{self.country}-{self.subdivision}")
                out.append(f"{self.continent}-{self.country}")
            out.append(self.continent)
        return out

    def __str__(self) -> str:
        codes = self.codes()
        return (codes[0] if codes else "not found") + f" (network /{self.prefix_len})"


def geo_matches(code: str, info: GeoInfo | None) -> int:
    """How specifically ``code`` matches: 3 subdivision, 2 country, 1 continent, 0 no match."""
    if info is None or not info.continent:
        return 0
    parts = code.split("-")
    if parts[0] != info.continent:
        return 0
    if len(parts) >= 2 and parts[1] != info.country:
        return 0
    if len(parts) == 3 and parts[2] != info.subdivision:
        return 0
    return len(parts)


class GeoDB:
    """A MaxMind (GeoIP2/GeoLite2 City or Country) database, read with ``maxminddb``."""

    def __init__(self, path: str) -> None:
        import maxminddb

        self.path = path
        self._reader = maxminddb.open_database(path)
        self._memo: dict[str, GeoInfo] = {}

    def lookup(self, ip: IP) -> GeoInfo:
        key = str(ip)
        info = self._memo.get(key)
        if info is None:
            record, prefix_len = self._reader.get_with_prefix_len(key)
            info = _info(record, prefix_len)
            if len(self._memo) >= CACHE_SIZE:
                self._memo.clear()
            self._memo[key] = info
        return info

    def close(self) -> None:
        self._reader.close()


def _info(record: Any, prefix_len: int) -> GeoInfo:
    if not isinstance(record, dict):
        return GeoInfo(None, None, None, prefix_len)
    continent = (record.get("continent") or {}).get("code")
    country = (record.get("country") or {}).get("iso_code")
    subdivisions = record.get("subdivisions") or []
    subdivision = subdivisions[0].get("iso_code") if subdivisions else None
    return GeoInfo(continent, country, subdivision, prefix_len)


def scope_for(ip: IP, networks: list[Network]) -> int:
    """The shortest prefix of ``ip`` that decides membership in every one of ``networks``.

    For a network holding the client that is its prefix length; for one that does not, one
    bit more than the common prefix (every address sharing that many bits is outside it too).
    """
    scope = 0
    value = int(ip)
    bits = ip.max_prefixlen
    for net in networks:
        if net.version != ip.version:
            continue
        if ip in net:
            scope = max(scope, net.prefixlen)
            continue
        common = bits - (value ^ int(net.network_address)).bit_length()
        scope = max(scope, min(net.prefixlen, common + 1))
    return scope
