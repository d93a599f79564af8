"""Helpers for policy tests: a zone to check against, YAML text -> PolicySet, a tiny mmdb."""

from __future__ import annotations

from pathlib import Path

import dns.name

from resolver.authority.load import Problem, ZoneData, parse_zone_file
from resolver.config.policies import PolicyFile, assemble, cross_check, parse_shared, parse_text
from resolver.config.policies import parse_zone_file as parse_policy
from resolver.routing.spec import PolicySet

ZONE_TEXT = """$ORIGIN {origin}.
$TTL 300
@     SOA ns1 hostmaster ( 1 3600 600 86400 60 )
      NS  ns1
ns1   A   127.0.0.53
www   AAAA 2001:db8::80
static A  127.0.0.9
sub   NS  ns1.sub
ns1.sub A 127.0.0.54
"""


def zone_data(tmp: Path, origin: str = "example.test") -> dict[dns.name.Name, ZoneData]:
    path = tmp / f"{origin}.zone"
    path.write_text(ZONE_TEXT.format(origin=origin))
    data = parse_zone_file(path)
    return {data.origin: data}


def policies_from(text: str, zones: dict[dns.name.Name, ZoneData], shared_text: str = "",
                  zone: str = "example.test") -> tuple[PolicySet, list[Problem]]:
    """Parse a policy file's text for ``zone`` (and optionally pools.yaml's text)."""
    problems: list[Problem] = []
    shared = {}
    if shared_text:
        data, found = parse_text("policies/pools.yaml", shared_text)
        problems += found
        if data is not None:
            shared, found = parse_shared("policies/pools.yaml", data)
            problems += found
    path = f"policies/{zone}.yaml"
    data, found = parse_text(path, text)
    problems += found
    records = []
    if data is not None:
        records, found = parse_policy(path, dns.name.from_text(zone), data, shared)
        problems += found + cross_check(records, zones)
    files = [PolicyFile(path, dns.name.from_text(zone), tuple(records)),
             PolicyFile("policies/pools.yaml", None, shared=shared)]
    return assemble(files), problems


def write_mmdb(path: Path, networks: dict[str, dict]) -> Path:
    """A tiny City-style MaxMind database: CIDR -> record (continent/country/subdivisions)."""
    import netaddr
    from mmdb_writer import MMDBWriter

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    for cidr, record in networks.items():
        writer.insert_network(netaddr.IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


def geo_record(continent: str, country: str | None = None, sub: str | None = None) -> dict:
    record: dict = {"continent": {"code": continent}}
    if country:
        record["country"] = {"iso_code": country}
    if sub:
        record["subdivisions"] = [{"iso_code": sub}]
    return record
