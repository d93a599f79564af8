"""All zones served, by origin. Built whole and swapped whole; never edited in place."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import dns.name

from resolver.authority.zone import Zone


class ZoneStore:
    """An immutable map of origin -> :class:`Zone` with longest-suffix search."""

    __slots__ = ("_zones", "_deepest")

    def __init__(self, zones: Mapping[dns.name.Name, Zone] | None = None) -> None:
        self._zones: dict[dns.name.Name, Zone] = dict(zones or {})
        self._deepest = max((len(origin) for origin in self._zones), default=0)

    def find(self, qname: dns.name.Name) -> Zone | None:
        """The zone whose origin is the longest suffix of ``qname``, if any."""
        zones = self._zones
        if not zones:
            return None
        labels = qname.labels
        for start in range(max(0, len(labels) - self._deepest), len(labels)):
            zone = zones.get(dns.name.Name(labels[start:]))
            if zone is not None:
                return zone
        return None

    def get(self, origin: dns.name.Name) -> Zone | None:
        return self._zones.get(origin)

    def replace(self, zone: Zone) -> ZoneStore:
        """A new store with ``zone`` added or replaced."""
        return ZoneStore({**self._zones, zone.origin: zone})

    def without(self, origin: dns.name.Name) -> ZoneStore:
        return ZoneStore({o: z for o, z in self._zones.items() if o != origin})

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._zones.values())

    def __len__(self) -> int:
        return len(self._zones)

    def __contains__(self, origin: object) -> bool:
        return origin in self._zones
