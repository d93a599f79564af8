"""NXDOMAIN for names that are not in a zone, built from wire bytes without dnspython.

A flood of never-repeating names (``<random>.example.test``) misses both levels of the
answer table, which only replays questions seen before. The slow path would decode each
request, look the name up and render the reply with dnspython; here the same verdict comes
from sets of lowercase wire names, and the reply is written directly: the header, the
question as received, the zone's SOA (TTL the SOA minimum, RFC 2308 §3) and the OPT record
(with the request's ECS option, if any, echoed as it came: scope 0, an NXDOMAIN depends on
no client), compressed as dnspython's renderer compresses them, so the bytes are the
pipeline's own.

A name is answered here only when the lookup of ``zone.py`` would say NXDOMAIN: the name
does not exist (empty non-terminals do), no delegation or DNAME lies above it, and its
closest encloser has no wildcard child. Everything else, and every request this module
cannot prove it renders as the slow path does, returns ``None`` and takes the slow path.
Replies are not stored in the answer table: unique names would only churn it.

Each zone's index is built on first use, ``CHUNK`` names per query, so a large zone never
holds the loop for long; until it is complete its queries take the slow path. Indexes of
zones a snapshot swap replaced are dropped by :meth:`NegativeAnswers.swapped`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import dns.rdatatype

from resolver.authority.zone import Zone
from resolver.codec import MIN_UDP_PAYLOAD, TCP_MAX, udp_limit
from resolver.fastpath import OUR_OPT, subnet_option

CHUNK = 5_000  # about 6 ms of the loop per step (1.2 µs a name)
NS, DNAME, SOA = dns.rdatatype.NS, dns.rdatatype.DNAME, dns.rdatatype.SOA
_PASSED_CLASSES = (1, 255)  # IN, ANY: the classes the guard lets through to the authority
_TRANSFERS = (251, 252)  # IXFR, AXFR: answered by the guard
_MAX_NAME = 255  # longer names are FORMERR (dnspython's NameTooLong)
_COUNTS = b"\x00\x01\x00\x00\x00\x01"  # one question, no answer, one authority record
_OPT = OUR_OPT + b"\x00\x00"  # ext-rcode, version; then flags, rdlen
Parts = tuple[tuple[bytes, bytes], ...]  # (lowercase wire suffix, label as written) per label


@dataclass(frozen=True, slots=True)
class ZoneIndex:
    """What one zone's NXDOMAIN verdicts and replies need, in lowercase wire form."""

    zone: Zone
    # Sets kept as built and never changed: a frozenset copy of a million names would hold
    # the loop for a tenth of a second in one C call.
    existing: AbstractSet[bytes]  # names with data and empty non-terminals
    stops: AbstractSet[bytes]  # cuts below the apex and DNAME owners: not ours below them
    wild: AbstractSet[bytes]  # names with a wildcard child, ``*.<name>``
    origin: Parts
    mname: Parts
    rname: Parts
    soa_fixed: bytes  # type, class, TTL
    soa_tail: bytes  # serial, refresh, retry, expire, minimum


def build_index(zone: Zone) -> Iterator[ZoneIndex | None]:
    """Yield ``None`` after every ``CHUNK`` names, then the index (none if it cannot be)."""
    soa = zone.soa[0]
    if not (soa.mname.is_absolute() and soa.rname.is_absolute()):
        return  # the slow path cannot render this SOA either: it answers (SERVFAIL)
    existing: set[bytes] = set()
    wild: set[bytes] = set()
    for count, name in enumerate(zone.existing(), 1):
        wire = name.to_wire().lower()
        existing.add(wire)
        if wire[:2] == b"\x01*":
            wild.add(wire[2:])
        if count % CHUNK == 0:
            yield None
    stops: set[bytes] = set()
    for count, (name, node) in enumerate(zone.nodes.items(), 1):
        if DNAME in node or (NS in node and name != zone.origin):
            stops.add(name.to_wire().lower())
        if count % CHUNK == 0:
            yield None
    yield ZoneIndex(
        zone, existing, stops, wild,
        _parts(zone.origin), _parts(soa.mname), _parts(soa.rname),
        struct.pack("!HHI", SOA, 1, zone.negative_ttl),
        struct.pack("!IIIII", soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum),
    )


def _parts(name: Any) -> Parts:
    labels = [label for label in name.labels if label]
    return tuple(
        (b"".join(bytes((len(x),)) + x for x in labels[i:]).lower() + b"\x00",
         bytes((len(label),)) + label)
        for i, label in enumerate(labels)
    )


def _write_name(out: bytearray, parts: Parts, compress: dict[bytes, int]) -> None:
    """As dnspython's ``Name.to_wire`` with a compression table: a pointer to the first
    suffix already written, each new suffix remembered where it starts."""
    for suffix, label in parts:
        pos = compress.get(suffix)
        if pos is not None:
            out += (0xC000 | pos).to_bytes(2, "big")
            return
        if len(out) <= 0x3FFF:
            compress[suffix] = len(out)
        out += label
    out.append(0)


def render(index: ZoneIndex, data: bytes, name: bytes, offsets: list[int], end: int,
           allowed: bool, tcp: bool, ecs: int = 0) -> bytes | None:
    """The NXDOMAIN reply to ``data`` as ``codec.encode`` writes it, or None if it would be
    truncated. ``name`` is the question name lowercased, ``offsets`` where its labels start,
    ``ecs`` where the request's ECS option starts (0: none): an NXDOMAIN does not depend on
    the client, so the option goes back as it came, scope 0."""
    edns = data[11] == 1
    out = bytearray(data[:2])
    out.append(0x84 | (data[2] & 0x01))  # QR, AA, the client's RD
    out.append((0x80 if allowed else 0) | (data[3] & 0x10) | 3)  # RA, the client's CD, NXDOMAIN
    out += _COUNTS
    out += b"\x00\x01" if edns else b"\x00\x00"
    out += data[12:end]
    compress = {name[offset:]: 12 + offset for offset in offsets}
    _write_name(out, index.origin, compress)
    out += index.soa_fixed
    start = len(out)
    out += b"\x00\x00"
    _write_name(out, index.mname, compress)
    _write_name(out, index.rname, compress)
    out += index.soa_tail
    out[start : start + 2] = (len(out) - start - 2).to_bytes(2, "big")
    if tcp:
        limit = TCP_MAX
    elif edns:
        payload = data[end + 3] << 8 | data[end + 4]
        limit = udp_limit(payload)
    else:
        limit = MIN_UDP_PAYLOAD
    if edns:
        out += _OPT
        if ecs:
            option = subnet_option(data, ecs)
            out += b"\x80\x00" if data[end + 7] & 0x80 else b"\x00\x00"
            out += len(option).to_bytes(2, "big") + option
        else:
            out += b"\x80\x00\x00\x00" if data[end + 7] & 0x80 else b"\x00\x00\x00\x00"
    return bytes(out) if len(out) <= limit else None


class NegativeAnswers:
    """NXDOMAIN replies for one runtime, over whichever snapshot is current.

    ``answer`` takes requests :func:`resolver.fastpath.request_key` accepted (one question,
    QUERY, EDNS version 0 without options the slow path parses, at most one well-formed ECS
    option), which is what makes the request's shape as plain as this module assumes.
    """

    def __init__(self, current: Callable[[], Any]) -> None:
        self._current = current  # -> the runtime snapshot (its ``zones``)
        self._store: object = None
        self._origins: dict[bytes, Zone] = {}
        self._indexes: dict[bytes, ZoneIndex | tuple[Zone, Iterator[ZoneIndex | None]]] = {}
        self.hits = 0

    def swapped(self, *_: object) -> None:
        """Forget the zones a swap replaced (their memory is freed off the loop)."""
        self._store = None
        self._origins = {}
        zones = self._current().zones
        for key, entry in list(self._indexes.items()):
            zone = entry.zone if isinstance(entry, ZoneIndex) else entry[0]
            if zones.get(zone.origin) is not zone:
                del self._indexes[key]

    def answer(self, data: bytes, end: int, allowed: bool, tcp: bool, ecs: int = 0
               ) -> bytes | None:
        """The NXDOMAIN reply to a keyed request, or None (not provably one: slow path)."""
        qtype = data[end - 4] << 8 | data[end - 3]
        if end - 16 > _MAX_NAME or qtype in _TRANSFERS:
            return None
        if data[end - 2] or data[end - 1] not in _PASSED_CLASSES:
            return None
        name = data[12 : end - 4].lower()
        offsets = []  # where each label starts, then where the root does
        pos = 0
        while name[pos]:
            offsets.append(pos)
            pos += name[pos] + 1
        offsets.append(pos)
        origins = self._zones()
        for depth in range(len(offsets)):  # the longest suffix that is a zone's apex
            origin = name[offsets[depth] :]
            if origin in origins:
                break
        else:
            return None
        index = self._index(origin, origins[origin]) if depth else None  # an apex exists
        if index is None or name in index.existing:
            return None
        existing = index.existing
        encloser = 1
        while name[offsets[encloser] :] not in existing:  # ends at the apex, at the latest
            encloser += 1
        if name[offsets[encloser] :] in index.wild:
            return None
        stops = index.stops  # the closest encloser and every name above it to the apex
        for above in range(encloser, depth + 1):
            if name[offsets[above] :] in stops:
                return None
        reply = render(index, data, name, offsets[:-1], end, allowed, tcp, ecs)
        if reply is not None:
            self.hits += 1
        return reply

    def _zones(self) -> dict[bytes, Zone]:
        zones = self._current().zones
        if zones is not self._store:
            self._origins = {zone.origin.to_wire().lower(): zone for zone in zones}
            self._store = zones
        return self._origins

    def _index(self, key: bytes, zone: Zone) -> ZoneIndex | None:
        entry = self._indexes.get(key)
        if isinstance(entry, ZoneIndex) and entry.zone is zone:
            return entry
        if entry is None or isinstance(entry, ZoneIndex) or entry[0] is not zone:
            entry = (zone, build_index(zone))
            self._indexes[key] = entry
        step = next(entry[1], None)  # None: not complete yet, or no index for this zone
        if step is not None:
            self._indexes[key] = step
        return step
