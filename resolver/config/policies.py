"""The policies folder: ``<zone>.yaml`` files of octoDNS records and ``pools.yaml``.

Files -> :mod:`yamlnodes` -> :mod:`policy_parse` -> frozen specs -> cross-checked against the
zones served -> :class:`PolicySet`. Problems come back as ``file:line: message``.

Also the policy API for the admin HTTP API (one record at a time, given as a dict in the same
structure as the YAML): :func:`validate_record`, :func:`put_record`, :func:`delete_record`,
:func:`read_document` and :func:`write_document` (atomic: temp file, fsync, rename).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import yaml

from resolver.authority.load import Problem, ZoneData
from resolver.config import policy_parse as pp
from resolver.config.policy_record import parse_record
from resolver.config.yamlnodes import LineDict, error_line, load
from resolver.fsutil import remove_durably, replace_atomically
from resolver.routing.spec import HealthCheck, PolicySet, Pool, RecordPolicy

POOLS_FILE = "pools.yaml"
SUFFIXES = (".yaml", ".yml")
DEFAULT_TTL = 3600  # octoDNS


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One parsed file: a zone's records, or the shared pools."""

    path: str
    zone: dns.name.Name | None
    records: tuple[RecordPolicy, ...] = ()
    shared: Mapping[str, Pool] = field(default_factory=dict)


def scan(directory: Path | str | None) -> list[Path]:
    folder = Path(directory) if directory else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def zone_of(path: Path | str) -> dns.name.Name | None:
    """The zone a file is for (its name without the suffix); None for ``pools.yaml``."""
    p = Path(path)
    if p.name in (POOLS_FILE, "pools.yml"):
        return None
    return dns.name.from_text(p.stem)


def parse_text(path: str, text: str) -> tuple[Any, list[Problem]]:
    try:
        data = load(text)
    except yaml.YAMLError as exc:
        return None, [Problem(path, error_line(exc), f"invalid YAML: {exc}".splitlines()[0])]
    if data is None:
        data = LineDict()
        data.key_lines, data.duplicates = {}, []
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "a policy file must be a mapping of names to records")]
    return data, []


def parse_shared(path: str, data: Mapping[str, Any]) -> tuple[dict[str, Pool], list[Problem]]:
    """``pools.yaml``: pool name -> pool (the same keys as a pool inside a record)."""
    ctx = pp.Ctx(path)
    for key, line in getattr(data, "duplicates", ()):
        ctx.problem(line, f"duplicate pool '{key}'")
    names = {str(n): str(n) for n in data}
    out: dict[str, Pool] = {}
    for name, node in data.items():
        pool = pp.pool(ctx, str(name), str(name), node, _shared_type(node), HealthCheck(), names)
        if pool is not None:
            out[str(name)] = pool
    ctx.problems.extend(_loops(out, path))
    return out, ctx.problems


def _shared_type(node: Any) -> int:
    """Shared pools hold addresses; the family is read from the first value."""
    values = node.get("values") if isinstance(node, dict) else None
    first = values[0] if isinstance(values, list) and values else None
    text = str(first.get("value", "")) if isinstance(first, dict) else str(first or "")
    return dns.rdatatype.AAAA if ":" in text else dns.rdatatype.A


def parse_zone_file(path: str, zone: dns.name.Name, data: Mapping[str, Any],
                    shared: Mapping[str, Pool]) -> tuple[list[RecordPolicy], list[Problem]]:
    ctx = pp.Ctx(path)
    for key, line in getattr(data, "duplicates", ()):
        ctx.problem(line, f"duplicate name '{key}' (list several records under one name)")
    records: list[RecordPolicy] = []
    seen: set[tuple[dns.name.Name, int]] = set()
    for rel, node in data.items():
        items = node if isinstance(node, list) else [node]
        for index, item in enumerate(items):
            line = node.line_of(index) if isinstance(node, list) and hasattr(node, "line_of") \
                else data.line_of(rel) if hasattr(data, "line_of") else None
            record = parse_record(ctx, zone, str(rel if rel is not None else ""), item, shared,
                                  line)
            if record is None:
                continue
            key = (record.name, record.rdtype)
            if key in seen:
                ctx.problem(record.where.line, f"{record.fqdn} {_type(record.rdtype)} is "
                            "defined twice")
                continue
            seen.add(key)
            records.append(record)
    return records, ctx.problems


def _type(rdtype: int) -> str:
    return dns.rdatatype.to_text(rdtype)


def _loops(pools: Mapping[str, Pool], path: str) -> list[Problem]:
    problems = []
    for start in pools.values():
        seen = [start.id]
        current = start
        while current.fallback is not None and current.fallback in pools:
            if current.fallback in seen:
                cycle = seen[seen.index(current.fallback):]
                if current.fallback == start.id and start.id == min(cycle):
                    chain = " -> ".join([*seen, start.id])
                    problems.append(Problem(start.where.file or path, start.where.line,
                                            f"fallback loop: {chain}"))
                break
            seen.append(current.fallback)
            current = pools[current.fallback]
    return problems


def cross_check(records: Iterable[RecordPolicy],
                zones: Mapping[dns.name.Name, ZoneData]) -> list[Problem]:
    """Policy names must be in a zone served here, not below a cut, not clash with static data."""
    problems = []
    for record in records:
        file, line = record.where.file, record.where.line
        data = zones.get(record.zone)
        if data is None:
            problems.append(Problem(file, line, f"zone {record.zone} is not served here (no "
                                    f"zones/{record.zone.to_text(True)}.zone)"))
            continue
        problems.extend(_clashes(record, data))
        problems.extend(_loops(record.pools, file))
    return problems


def _clashes(record: RecordPolicy, data: ZoneData) -> list[Problem]:
    file, line = record.where.file, record.where.line
    name = record.name
    parent = name
    while parent != data.origin and len(parent) > len(data.origin):
        parent = parent.parent()
        if parent != data.origin and dns.rdatatype.NS in data.rrsets.get(parent, {}):
            return [Problem(file, line, f"{record.fqdn} is below the delegation at {parent}")]
    node = data.rrsets.get(name, {})
    clash = [t for t in node if t == record.rdtype or dns.rdatatype.CNAME in (t, record.rdtype)]
    if not clash:
        return []
    zfile, zline = data.where(name, clash[0])
    return [Problem(file, line, f"{record.fqdn} {_type(record.rdtype)} clashes with static "
                    f"{_type(clash[0])} data at {zfile}:{zline}")]


def load_directory(directory: Path | str | None,
                   zones: Mapping[dns.name.Name, ZoneData]) -> tuple[PolicySet, list[Problem]]:
    """Every file in the folder, all or nothing (``resolver check`` and startup)."""
    files, problems = load_files(scan(directory), zones, {})
    return assemble(files.values()), problems


def load_files(paths: Iterable[Path], zones: Mapping[dns.name.Name, ZoneData],
               last_good: Mapping[str, PolicyFile]) -> tuple[dict[str, PolicyFile],
                                                             list[Problem]]:
    """Parse ``paths``; a file with problems keeps its entry from ``last_good`` (if any)."""
    paths = list(paths)
    problems: list[Problem] = []
    out: dict[str, PolicyFile] = {}
    shared: Mapping[str, Pool] = {}
    for path in paths:
        if zone_of(path) is None:
            parsed, found = _parse_one(path, None, {}, zones)
            problems.extend(found)
            chosen = parsed if not found else last_good.get(str(path))
            if chosen is not None:
                out[str(path)] = chosen
                shared = chosen.shared
    for path in paths:
        zone = zone_of(path)
        if zone is None:
            continue
        parsed, found = _parse_one(path, zone, shared, zones)
        problems.extend(found)
        chosen = parsed if not found else last_good.get(str(path))
        if chosen is not None:
            out[str(path)] = chosen
    return out, problems


def _parse_one(path: Path, zone: dns.name.Name | None, shared: Mapping[str, Pool],
               zones: Mapping[dns.name.Name, ZoneData]) -> tuple[PolicyFile, list[Problem]]:
    try:
        text = path.read_text()
    except OSError as exc:
        return PolicyFile(str(path), zone), [Problem(str(path), 1, f"cannot read: {exc}")]
    data, problems = parse_text(str(path), text)
    if data is None:
        return PolicyFile(str(path), zone), problems
    if zone is None:
        pools, problems = parse_shared(str(path), data)
        return PolicyFile(str(path), None, shared=pools), problems
    records, problems = parse_zone_file(str(path), zone, data, shared)
    problems += cross_check(records, zones)
    return PolicyFile(str(path), zone, tuple(records)), problems


def assemble(files: Iterable[PolicyFile]) -> PolicySet:
    records: dict[tuple[dns.name.Name, int], RecordPolicy] = {}
    shared: dict[str, Pool] = {}
    for policy_file in files:
        shared.update(policy_file.shared)
        for record in policy_file.records:
            records[(record.name, record.rdtype)] = record
    return PolicySet(records, shared)


def check_policies(policies_dir: str | Path | None,
                   zones: Mapping[dns.name.Name, ZoneData]) -> list[Problem]:
    return load_directory(policies_dir, zones)[1]


# -- the policy API (admin) ---------------------------------------------------------------
def validate_record(zone: str, name: str, record: Mapping[str, Any], *,
                    shared: Mapping[str, Pool],
                    zones: Mapping[dns.name.Name, ZoneData]) -> tuple[RecordPolicy | None,
                                                                      list[Problem]]:
    """Check one record's policy given as a dict (the YAML structure, ``name`` relative to
    ``zone``). Returns the spec, or None and every problem found."""
    origin = dns.name.from_text(zone)
    ctx = pp.Ctx(f"policies/{origin.to_text(True)}.yaml")
    spec = parse_record(ctx, origin, name, record, shared)
    if spec is not None:
        ctx.problems.extend(cross_check([spec], zones))
    return (spec if not ctx.problems else None), ctx.problems


def policy_path(directory: Path | str, zone: str) -> Path:
    return Path(directory) / f"{dns.name.from_text(zone).to_text(True)}.yaml"


def read_document(directory: Path | str, zone: str) -> dict[str, Any]:
    """A zone's policy file as plain data (empty if there is none)."""
    path = policy_path(directory, zone)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data) if isinstance(data, dict) else {}


def write_document(directory: Path | str, zone: str, document: Mapping[str, Any]) -> Path:
    """Write a zone's policy file atomically (the file is replaced whole or not at all).
    Comments in the old file are not kept. An empty document removes the file."""
    path = policy_path(directory, zone)
    if not document:
        remove_durably(path)
        return path
    text = yaml.safe_dump(_plain(document), sort_keys=False, default_flow_style=False)
    replace_atomically(path, text)
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def put_record(directory: Path | str, zone: str, name: str, record: Mapping[str, Any], *,
               shared: Mapping[str, Pool],
               zones: Mapping[dns.name.Name, ZoneData]) -> list[Problem]:
    """Validate and store one record's policy; nothing is written when there are problems."""
    _, problems = validate_record(zone, name, record, shared=shared, zones=zones)
    if problems:
        return problems
    document = read_document(directory, zone)
    document[name] = _plain(record)
    write_document(directory, zone, document)
    return []


def delete_record(directory: Path | str, zone: str, name: str) -> bool:
    """Remove one name's policy; False when it had none."""
    document = read_document(directory, zone)
    if name not in document:
        return False
    del document[name]
    write_document(directory, zone, document)
    return True


def check_config(config: Any) -> list[Problem]:
    """``resolver check``: every policy file, against the zones that load cleanly."""
    from resolver.authority.catalog import load_zone_file
    from resolver.authority.catalog import scan as scan_zones

    zones: dict[dns.name.Name, ZoneData] = {}
    for path in scan_zones(Path(config.zones)):
        result = load_zone_file(path)
        if result.data is not None:
            zones[result.data.origin] = result.data
    problems = check_policies(config.policies, zones)
    if getattr(config, "geoip_db", None) and not Path(config.geoip_db).is_file():
        problems.append(Problem(config.geoip_db, 1, "GeoIP database not found"))
    return problems
