"""Route 53-style change batches applied to one zone's data. No I/O, no clock.

A batch is a list of changes, each naming one RRset by owner and type:

- ``CREATE`` adds an RRset that must not exist yet;
- ``UPSERT`` adds it or replaces it whole;
- ``DELETE`` removes an RRset that must exist (when ``records`` or ``ttl`` are given they must
  match what is there, as in Route 53).

Changes apply in order to a copy of the zone, so ``DELETE`` then ``CREATE`` of one RRset in a
batch works. The batch is accepted only if every change applies and the result passes the
checks of ``resolver check``; otherwise nothing changes. Every accepted batch moves the SOA
serial forward (RFC 1982 arithmetic): to the serial of an upserted SOA if that one is ahead,
else by one.

Names follow Route 53 rather than zone-file habits, because API callers write FQDNs without a
final dot: ``@`` is the apex, a name ending in ``.`` is absolute, a name ending in the zone's
own name is absolute too, anything else is relative to the zone. Record data is zone-file
presentation format read with the zone as origin (``www`` in a CNAME is ``www.<zone>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from resolver.authority.check import check_zone
from resolver.authority.load import ZoneData
from resolver.errors import InputError

ACTIONS = ("CREATE", "UPSERT", "DELETE")
MAX_CHANGES = 1000
MAX_RECORDS = 1000
MAX_TTL = 2**31 - 1  # RFC 2181 §8
SOA = dns.rdatatype.SOA
IN = dns.rdataclass.IN
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Key = tuple[dns.name.Name, int]


@dataclass(frozen=True, slots=True)
class Change:
    action: str
    name: dns.name.Name
    rdtype: int
    ttl: int | None
    records: tuple[dns.rdata.Rdata, ...] | None  # None: DELETE whatever is there
    field: str  # ``changes[3]``, to name it in errors


@dataclass(frozen=True, slots=True)
class Edited:
    """The zone after a batch: its data (not yet written anywhere), the RRsets the batch
    touched (the SOA always among them), the new serial."""

    data: ZoneData
    touched: frozenset[Key]
    serial: int


# -- reading a batch ------------------------------------------------------------------------
def parse_batch(body: object, origin: dns.name.Name) -> tuple[Change, ...]:
    """``{"changes": [...], "comment": "..."}`` -> changes, or :class:`InputError` naming the
    field at fault. Nothing here looks at the zone's current data."""
    fields = expect_object(body, "", {"changes", "comment"})
    if "comment" in fields and not isinstance(fields["comment"], str):
        raise InputError("'comment' must be a string", "comment")
    items = fields.get("changes")
    if not isinstance(items, list):
        raise InputError("'changes' must be a list of changes", "changes")
    if not 1 <= len(items) <= MAX_CHANGES:
        raise InputError(f"'changes' must hold 1 to {MAX_CHANGES} changes", "changes")
    return tuple(parse_change(item, origin, f"changes[{i}]") for i, item in enumerate(items))


def parse_change(item: object, origin: dns.name.Name, field: str) -> Change:
    fields = expect_object(item, field, {"action", "name", "type", "ttl", "records"})
    action = fields.get("action")
    if action not in ACTIONS:
        raise InputError(f"'action' must be one of {', '.join(ACTIONS)}", f"{field}.action")
    name, rdtype, ttl, records = parse_rrset_fields(
        fields, origin, field, need_data=action != "DELETE"
    )
    if rdtype == SOA and action != "UPSERT":
        raise InputError("the SOA can only be changed with UPSERT", f"{field}.action")
    return Change(action, name, rdtype, ttl, records, field)


def parse_rrset_fields(
    fields: Mapping[str, Any], origin: dns.name.Name, field: str, *, need_data: bool
) -> tuple[dns.name.Name, int, int | None, tuple[dns.rdata.Rdata, ...] | None]:
    """``name``, ``type``, ``ttl``, ``records`` of one RRset; ttl and records are required
    when ``need_data``."""
    if "name" not in fields:
        raise InputError("'name' is required", f"{field}.name")
    name = parse_name(fields["name"], origin, f"{field}.name")
    rdtype = parse_type(fields.get("type"), f"{field}.type")
    ttl = fields.get("ttl")
    if ttl is None and need_data:
        raise InputError("'ttl' is required", f"{field}.ttl")
    if ttl is not None and (
        not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL
    ):
        raise InputError(f"'ttl' must be an integer from 0 to {MAX_TTL}", f"{field}.ttl")
    raw = fields.get("records")
    if raw is None:
        if need_data:
            raise InputError("'records' is required", f"{field}.records")
        return name, rdtype, ttl, None
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_RECORDS:
        raise InputError(f"'records' must be a list of 1 to {MAX_RECORDS} strings",
                         f"{field}.records")
    records: dict[dns.rdata.Rdata, None] = {}  # a set that keeps the caller's order
    for i, text in enumerate(raw):
        records[parse_rdata(text, rdtype, origin, f"{field}.records[{i}]")] = None
    return name, rdtype, ttl, tuple(records)


def expect_object(value: object, field: str, allowed: Iterable[str]) -> dict[str, Any]:
    """A JSON object with only ``allowed`` keys."""
    where = field or None
    if not isinstance(value, dict):
        raise InputError(f"{field or 'the body'} must be a JSON object", where)
    allowed = set(allowed)
    for key in value:
        if key not in allowed:
            path = f"{field}.{key}" if field else str(key)
            raise InputError(f"unknown field '{key}' (expected: {', '.join(sorted(allowed))})",
                             path)
    return value


def parse_name(text: object, origin: dns.name.Name, field: str) -> dns.name.Name:
    if not isinstance(text, str) or not text or _CONTROL.search(text):
        raise InputError("must be a non-empty domain name", field)
    try:
        if text == "@":
            name = origin
        elif text.endswith(".") or _ends_with_zone(text, origin):
            name = dns.name.from_text(text.rstrip(".") + ".")
        else:
            name = dns.name.from_text(text, origin)
    except dns.exception.DNSException as exc:
        raise InputError(f"'{text}' is not a domain name: {exc}", field) from None
    if not name.is_subdomain(origin):
        raise InputError(f"{name} is outside the zone {origin}", field)
    return name


def _ends_with_zone(text: str, origin: dns.name.Name) -> bool:
    zone = origin.to_text(omit_final_dot=True).lower()
    lowered = text.lower()
    return zone == "" or lowered == zone or lowered.endswith("." + zone)


def parse_type(text: object, field: str) -> int:
    if not isinstance(text, str) or not text:
        raise InputError("'type' must be a record type such as \"A\"", field)
    try:
        rdtype = dns.rdatatype.from_text(text)
    except dns.exception.DNSException:
        raise InputError(f"unknown record type '{text}'", field) from None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.NONE:
        raise InputError(f"{text} is not a type of stored record", field)
    return rdtype


def parse_rdata(text: object, rdtype: int, origin: dns.name.Name, field: str) -> dns.rdata.Rdata:
    if not isinstance(text, str) or not text.strip() or _CONTROL.search(text):
        raise InputError("a record must be a non-empty string on one line", field)
    try:
        return dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)
    except dns.exception.DNSException as exc:
        kind = dns.rdatatype.to_text(rdtype)
        raise InputError(f"bad {kind} record '{text}': {exc}", field) from None
    except Exception as exc:  # dnspython raises ValueError & co. for some types
        kind = dns.rdatatype.to_text(rdtype)
        raise InputError(f"bad {kind} record '{text}': {exc}", field) from None


# -- applying a batch -------------------------------------------------------------------------
def apply_batch(data: ZoneData, changes: Iterable[Change]) -> Edited:
    """The zone after ``changes``, checked; :class:`InputError` (409 for a conflict with the
    current data, 422 for a zone that would fail ``resolver check``) if any change fails."""
    rrsets = {name: dict(node) for name, node in data.rrsets.items()}
    touched: set[Key] = set()
    blame: dict[dns.name.Name, str] = {}
    for change in changes:
        _apply_one(rrsets, change)
        touched.add((change.name, change.rdtype))
        blame[change.name] = change.field
    old_soa = data.rrsets[data.origin][SOA]
    soa = rrsets.get(data.origin, {}).get(SOA)
    assert soa is not None  # the SOA is only ever upserted
    wanted = soa[0].serial if (data.origin, SOA) in touched else None
    serial = next_serial(old_soa[0].serial, wanted)
    new_soa = dns.rrset.RRset(data.origin, IN, SOA)
    new_soa.add(soa[0].replace(serial=serial), soa.ttl)
    rrsets[data.origin][SOA] = new_soa
    touched.add((data.origin, SOA))
    candidate = ZoneData(data.origin, data.path, rrsets, _blamed_lines(data, rrsets, blame),
                         data.files)
    problems = check_zone(candidate)
    if problems:
        first = problems[0]
        field = first.file if first.file.startswith("changes[") else "changes"
        raise InputError(f"the zone would not pass 'resolver check': {first.message}", field,
                         422)
    return Edited(candidate, frozenset(touched), serial)


def _apply_one(rrsets: dict[dns.name.Name, dict[int, dns.rrset.RRset]], change: Change) -> None:
    node = rrsets.get(change.name, {})
    current = node.get(change.rdtype)
    label = f"{change.name} {dns.rdatatype.to_text(change.rdtype)}"
    if change.action == "CREATE" and current is not None:
        raise InputError(f"{label} already exists (use UPSERT to replace it)", change.field, 409)
    if change.action == "DELETE":
        if current is None:
            raise InputError(f"{label} does not exist", change.field, 409)
        if change.records is not None and set(change.records) != set(current):
            raise InputError(f"{label} holds other records than the ones to delete",
                             f"{change.field}.records", 409)
        if change.ttl is not None and change.ttl != current.ttl:
            raise InputError(f"{label} has TTL {current.ttl}, not {change.ttl}",
                             f"{change.field}.ttl", 409)
        del node[change.rdtype]
        if not node:
            rrsets.pop(change.name, None)
        return
    assert change.records is not None and change.ttl is not None
    rrset = dns.rrset.RRset(change.name, IN, change.rdtype)
    for rdata in change.records:
        rrset.add(rdata, change.ttl)
    rrsets.setdefault(change.name, node)[change.rdtype] = rrset


def _blamed_lines(
    data: ZoneData, rrsets: Mapping[dns.name.Name, Mapping[int, object]],
    blame: Mapping[dns.name.Name, str],
) -> dict[Key, tuple[str, int]]:
    """Where each RRset "is", so that a check problem at a changed name names the change
    (``changes[3]``) instead of a line of the file."""
    lines = dict(data.lines)
    for name, field in blame.items():
        for rdtype in rrsets.get(name, {}):
            lines[(name, rdtype)] = (field, 0)
    return lines


def next_serial(old: int, wanted: int | None = None) -> int:
    """``wanted`` if it is ahead of ``old`` in RFC 1982 serial arithmetic, else ``old + 1``."""
    if wanted is not None and 0 < (wanted - old) % 2**32 < 2**31:
        return wanted
    return (old + 1) % 2**32


def serial_of(data: ZoneData) -> int:
    return int(data.rrsets[data.origin][SOA][0].serial)


# -- showing a zone ------------------------------------------------------------------------
def rrset_json(rrset: dns.rrset.RRset) -> dict[str, Any]:
    return {
        "name": rrset.name.to_text(),
        "type": dns.rdatatype.to_text(rrset.rdtype),
        "ttl": rrset.ttl,
        "records": [rdata.to_text() for rdata in rrset],
    }


def zone_json(data: ZoneData) -> list[dict[str, Any]]:
    """Every RRset, apex first, then in DNSSEC canonical name order."""
    out = []
    for name in sorted(data.rrsets, key=lambda n: (n != data.origin, n)):
        node = data.rrsets[name]
        for rdtype in sorted(node, key=lambda t: (t != SOA, t)):
            out.append(rrset_json(node[rdtype]))
    return out


# -- a new zone -----------------------------------------------------------------------------
_ZONE_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
DEFAULT_TTL = 3600
SOA_TIMERS = "7200 3600 1209600 300"  # refresh, retry, expire, negative TTL (RFC 1912 §2.2)


@dataclass(frozen=True, slots=True)
class NewZone:
    origin: dns.name.Name
    ttl: int
    data: ZoneData  # checked by the caller; lines name the body's fields (``rrsets[2]``)
    header: str

    def rrsets(self) -> list[dns.rrset.RRset]:
        """SOA, then NS, then the rest, in the order given."""
        apex = self.data.rrsets.get(self.origin, {})
        first = [apex[t] for t in (SOA, dns.rdatatype.NS) if t in apex]
        rest = [rrset for node in self.data.rrsets.values() for rrset in node.values()
                if all(rrset is not f for f in first)]
        return first + rest


def zone_origin(text: object, field: str) -> dns.name.Name:
    """A zone name as the API takes it (``example.test`` or ``example.test.``); only letters,
    digits, ``-`` and ``_``, since it also names the zone's file."""
    if not isinstance(text, str) or not text.strip("."):
        raise InputError("must be a zone name such as example.test", field)
    try:
        origin = dns.name.from_text(text.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        raise InputError(f"'{text}' is not a domain name: {exc}", field) from None
    if not _ZONE_NAME.match(origin.to_text(omit_final_dot=True).lower()):
        raise InputError("a zone name may hold only letters, digits, '-', '_' and dots",
                         field)
    return origin


def parse_new_zone(body: object, serial: int) -> NewZone:
    """``{"name", "ttl", "nameservers", "rrsets"}`` -> the zone to create. The SOA is made
    up when not given (``ns1.<zone>`` or the first name server, ``hostmaster.<zone>``)."""
    fields = expect_object(body, "", {"name", "ttl", "nameservers", "rrsets"})
    origin = zone_origin(fields.get("name"), "name")
    ttl = fields.get("ttl", DEFAULT_TTL)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= MAX_TTL:
        raise InputError(f"'ttl' must be an integer from 0 to {MAX_TTL}", "ttl")
    items = fields.get("rrsets", [])
    if not isinstance(items, list) or len(items) > MAX_CHANGES:
        raise InputError(f"'rrsets' must be a list of at most {MAX_CHANGES} RRsets", "rrsets")
    rrsets: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
    lines: dict[Key, tuple[str, int]] = {}
    for i, item in enumerate(items):
        field = f"rrsets[{i}]"
        raw = expect_object(item, field, {"name", "type", "ttl", "records"})
        name, rdtype, rr_ttl, records = parse_rrset_fields(raw, origin, field, need_data=True)
        if rdtype in rrsets.get(name, {}):
            raise InputError(f"{name} {raw['type']} is given twice", field)
        rrset = rrsets.setdefault(name, {})[rdtype] = dns.rrset.RRset(name, IN, rdtype)
        for rdata in records or ():
            rrset.add(rdata, rr_ttl)
        lines[(name, rdtype)] = (field, 0)
    apex = rrsets.setdefault(origin, {})
    _add_nameservers(apex, origin, fields.get("nameservers"), ttl)
    if SOA not in apex:
        ns = apex.get(dns.rdatatype.NS)
        mname = ns[0].target.to_text() if ns else f"ns1.{origin}"
        soa = dns.rrset.RRset(origin, IN, SOA)
        soa.add(dns.rdata.from_text(IN, SOA, f"{mname} hostmaster.{origin} {serial} "
                                    f"{SOA_TIMERS}"), ttl)
        apex = {SOA: soa, **apex}
    rrsets = {origin: apex, **{n: node for n, node in rrsets.items() if n != origin}}
    data = ZoneData(origin, "", rrsets, lines)
    return NewZone(origin, ttl, data, f"{origin.to_text(omit_final_dot=True)}: created "
                   "through the admin API.\nEdit freely: the API keeps what you write here.")


def _add_nameservers(apex: dict[int, dns.rrset.RRset], origin: dns.name.Name, raw: object,
                     ttl: int) -> None:
    if raw is None:
        return
    if not isinstance(raw, list) or not raw:
        raise InputError("'nameservers' must be a non-empty list of names", "nameservers")
    if dns.rdatatype.NS in apex:
        raise InputError("give the apex NS records in 'nameservers' or in 'rrsets', not both",
                         "nameservers")
    ns = dns.rrset.RRset(origin, IN, dns.rdatatype.NS)
    for i, text in enumerate(raw):
        target = parse_name_anywhere(text, origin, f"nameservers[{i}]")
        ns.add(dns.rdata.from_text(IN, dns.rdatatype.NS, target.to_text()), ttl)
    apex[dns.rdatatype.NS] = ns


def parse_name_anywhere(text: object, origin: dns.name.Name, field: str) -> dns.name.Name:
    """As :func:`parse_name`, for names that may be outside the zone (name servers)."""
    if not isinstance(text, str) or not text or _CONTROL.search(text):
        raise InputError("must be a non-empty domain name", field)
    try:
        if text.endswith(".") or "." in text:
            return dns.name.from_text(text.rstrip(".") + ".")
        return dns.name.from_text(text, origin)
    except dns.exception.DNSException as exc:
        raise InputError(f"'{text}' is not a domain name: {exc}", field) from None
