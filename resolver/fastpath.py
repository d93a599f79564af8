"""Replay prebuilt wire answers for questions seen before, without parsing or building.

Two levels (see :class:`AnswerTable`). First the request exactly as it arrives, less its ID:
a hit is a dict lookup and the stored reply with the client's ID in front. Then the question
lowercased (name, type, class) plus the request's shape: header flags, transport, EDNS
presence, clamped UDP size and DO bit, and whether the client may recurse (RA); a hit there is
the stored bytes with the client's ID and the client's question (its letter case) spliced in.
Only answers marked ``cacheable`` are stored (static authoritative data), by the slow path
the first time it answers a question; the table is dropped whole when the snapshot it was
built from is replaced.

A request with one well-formed EDNS Client Subnet option (RFC 7871) is keyed too: its
family and source prefix length go into the key, its address does not. A static answer does
not depend on the address, and the reply echoes the option with scope 0, as the last option of
the OPT record, which is the last record: so the folded level stores the reply less the
address bytes and appends the client's. :func:`request_key` accepts exactly the options
``codec`` accepts (family 1 or 2, a source prefix within the family, scope 0, an address of
the prefix's length with no bit set past it); any other ECS option, or two, takes the slow
path, which answers FORMERR.

Requests the table cannot key exactly (EDNS version > 0, odd counts, compression in the
question, EDNS options the slow path would parse and might reject) return ``None`` from
:func:`request_key` and take the slow path.
"""

from __future__ import annotations

from resolver.codec import OUR_UDP_PAYLOAD, udp_limit

_OPT = 41
_ECS = 8
_COOKIE = 10
OUR_OPT = b"\x00\x00\x29" + OUR_UDP_PAYLOAD.to_bytes(2, "big")  # owner, type, UDP size
# Options whose content the slow path parses and may reject (FORMERR): a request carrying one
# is not keyed, so a malformed one cannot be answered from the table. ECS is checked here
# byte by byte instead (:func:`_subnet_ok`).
_PARSED_OPTIONS = frozenset({15, 18, 22, 23, 24, 25})  # EDE, report channel, ...
_COOKIE_SIZES = frozenset({8, *range(16, 41)})  # client cookie, or client + server (RFC 7873)
_ECS_BITS = (-1, 32, 128)  # the longest source prefix per family (1: IPv4, 2: IPv6)


def request_key(data: bytes, tcp: bool, recursion_allowed: bool
                ) -> tuple[bytes, int, int] | None:
    """``(key, end of question, ECS)`` for a plain query, or None when only the slow path can
    tell. ECS is where the request's ECS option starts (its code), 0 when it has none."""
    size = len(data)
    if size < 17 or data[2] & 0xF8 or data[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return None  # a response, an opcode other than QUERY, or not one bare question
    pos = 12
    while True:
        length = data[pos] if pos < size else 0xFF
        if length == 0:
            break
        if length > 63:
            return None
        pos += length + 1
    name_end = pos
    end = pos + 5
    if end > size:
        return None
    arcount = data[10] << 8 | data[11]
    shape = b"T" if tcp else b"U"
    ecs = 0
    if arcount == 0:
        if end != size:
            return None
        shape += b"-"
    elif arcount == 1:
        # An OPT RR: root owner, type 41, payload, ext-rcode, version, flags, rdata.
        if size < end + 11 or data[end] != 0 or data[end + 1] != 0 or data[end + 2] != _OPT:
            return None
        if data[end + 6] != 0 or data[end + 5] != 0:
            return None  # EDNS version > 0 (BADVERS) or an extended rcode in a query
        rdlen = data[end + 9] << 8 | data[end + 10]
        opt_end = end + 11 + rdlen
        if opt_end != size:
            return None
        pos = end + 11
        while pos < opt_end:
            if pos + 4 > opt_end:
                return None
            code = data[pos] << 8 | data[pos + 1]
            option_length = data[pos + 2] << 8 | data[pos + 3]
            if code in _PARSED_OPTIONS:
                return None
            if code == _COOKIE and option_length not in _COOKIE_SIZES:
                return None
            if code == _ECS:
                if ecs or pos + 4 + option_length > opt_end or not _subnet_ok(data, pos):
                    return None  # two ECS options, or one the slow path rejects (FORMERR)
                ecs = pos
            pos += 4 + option_length
        if pos != opt_end:
            return None
        payload = data[end + 3] << 8 | data[end + 4]
        payload = udp_limit(payload)
        do = data[end + 7] & 0x80
        shape += b"E" + payload.to_bytes(2, "big") + (b"D" if do else b"-")
        if ecs:
            shape += b"S" + data[ecs + 5 : ecs + 7]  # family, source prefix: not the address
    else:
        return None
    shape += b"R" if recursion_allowed else b"-"
    # Only the name is case-folded: type and class bytes are numbers (0x43 is not 0x63).
    return data[12:name_end].lower() + data[name_end:end] + data[2:4] + shape, end, ecs


def _subnet_ok(data: bytes, pos: int) -> bool:
    """Whether the ECS option at ``pos`` (its code; its length is within the request) is one
    ``codec._client_subnet`` accepts: family 1 or 2, source prefix within the family, scope
    0, ceil(prefix / 8) address octets and no bit set past the prefix."""
    if data[pos + 2] or data[pos + 3] < 4 or data[pos + 4] or data[pos + 7]:  # scope: 0
        return False
    family, prefix = data[pos + 5], data[pos + 6]
    octets = (prefix + 7) >> 3
    if family > 2 or prefix > _ECS_BITS[family] or data[pos + 3] != 4 + octets:
        return False
    rest = prefix & 7
    return not rest or not data[pos + 7 + octets] & (0xFF >> rest)


def subnet_option(data: bytes, ecs: int) -> bytes:
    """The ECS option at ``ecs`` in ``data``, code to the end of its address."""
    return data[ecs : ecs + 4 + data[ecs + 3]]


def replay(data: bytes, stored: bytes, question_end: int, ecs: int = 0) -> bytes:
    """A stored reply as the answer to ``data``: the client's ID and question spliced in,
    and for an ECS request (``ecs``: where its option starts) the client's address appended
    to a reply stored without one (:func:`without_address`)."""
    reply = data[:2] + stored[2:12] + data[12:question_end] + stored[question_end:]
    if ecs:
        return reply + data[ecs + 8 : ecs + 4 + data[ecs + 3]]
    return reply


def without_address(wire: bytes, echo: bytes) -> bytes | None:
    """``wire`` less the address of the ECS option ``echo`` it ends with, to be stored for
    :func:`replay`; None when ``wire`` does not end that way (:func:`ends_with_option`)."""
    if not ends_with_option(wire, echo):
        return None
    return wire[: len(wire) + 8 - len(echo)]


def ends_with_option(wire: bytes, option: bytes) -> bool:
    """Whether ``option`` is the only option of the OPT record that ends ``wire`` (as
    ``codec.encode`` writes it: root owner, our UDP size), so a replay may replace its last
    octets (the ECS address) with another client's."""
    size = len(option)
    start = len(wire) - size - 11
    if start < 12 or not wire.endswith(option):
        return False
    return wire[start : start + 5] == OUR_OPT and wire[start + 9 : start + 11] == (
        size.to_bytes(2, "big"))


class AnswerTable:
    """Wire answers for one snapshot generation, at two levels, each bounded in size.

    ``exact[tcp << 1 | recursion_allowed]`` maps a request without its ID to the reply without
    its ID. It holds requests the slow path answered whose name was all lowercase (most traffic
    is: stubs, forwarders, dnsperf), so a hit is one slice, one dict lookup and one join, and
    the bytes are those the slow path built for that very request. Transports may read these
    dicts directly: they are cleared in place, never replaced.

    The folded level, keyed by :func:`request_key`, answers every letter case of a question
    (0x20-randomised resolvers) and every equivalent request shape, patched with the ID and
    the client's question, and for ECS requests the client's ECS address (the module doc).
    """

    __slots__ = ("exact", "_folded", "limit", "hits", "misses")

    def __init__(self, limit: int = 200_000) -> None:
        self.exact: tuple[dict[bytes, bytes], ...] = ({}, {}, {}, {})
        self._folded: dict[bytes, bytes] = {}
        self.limit = limit
        self.hits = 0
        self.misses = 0

    def answer(self, data: bytes, key: bytes, question_end: int, ecs: int = 0) -> bytes | None:
        """The folded level: the stored reply with the client's ID and question (and ECS
        address: ``ecs`` as :func:`request_key` gives it)."""
        wire = self._folded.get(key)
        if wire is None:
            self.misses += 1
            return None
        self.hits += 1
        return replay(data, wire, question_end, ecs)

    def store(self, key: bytes, wire: bytes, request: bytes = b"", question_end: int = 0,
              index: int = 0, ecs: int = 0) -> None:
        """Remember ``wire`` under ``key``, and under ``request`` itself (in ``exact[index]``)
        when its name is lowercase. A full level is emptied rather than frozen, so a flood of
        one-off names cannot keep new questions out until the next snapshot.

        For an ECS request (``ecs``: where its option starts) the folded level keeps the reply
        less the address, and only when the reply ends with the option echoed as it came
        (scope 0) as the only option: else another client's address could not be put in."""
        stored = without_address(wire, subnet_option(request, ecs)) if ecs else wire
        if stored is not None:
            _bounded_put(self._folded, key, stored, self.limit)
        if request:
            name = request[12 : question_end - 4]  # the name only: type, class are numbers
            if name == name.lower():
                _bounded_put(self.exact[index], request[2:], wire[2:], self.limit)

    def clear(self) -> None:
        self._folded.clear()
        for level in self.exact:
            level.clear()

    def __len__(self) -> int:
        return len(self._folded)


def _bounded_put(table: dict[bytes, bytes], key: bytes, value: bytes, limit: int) -> None:
    if len(table) >= limit:
        table.clear()
    table[key] = value
