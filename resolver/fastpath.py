"""Replay prebuilt wire answers for questions seen before, without parsing or building.

The key is the question as it arrives, lowercased (name, type, class), plus the request's
shape: header flags, transport, EDNS presence, clamped UDP size and DO bit, and whether the
client may recurse (RA). A hit costs a header scan, a dict lookup and one bytes join: the
reply is the stored bytes with the client's ID and the client's question (its letter case)
spliced in. Only answers marked ``cacheable`` are stored (static authoritative data); the
table is dropped whole when the snapshot it was built from is replaced.

Requests the table cannot key exactly (ECS, EDNS version > 0, odd counts, compression in the
question) return ``None`` from :func:`request_key` and take the slow path.
"""

from __future__ import annotations

from resolver.codec import MIN_UDP_PAYLOAD, OUR_UDP_PAYLOAD

_OPT = 41
_ECS = 8


def request_key(data: bytes, tcp: bool, recursion_allowed: bool) -> tuple[bytes, int] | None:
    """``(key, end of question)`` for a plain query, or None when only the slow path can tell."""
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
    end = pos + 5
    if end > size:
        return None
    arcount = data[10] << 8 | data[11]
    shape = b"T" if tcp else b"U"
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
            if code == _ECS:
                return None  # the answer may depend on the client subnet
            pos += 4 + (data[pos + 2] << 8 | data[pos + 3])
        if pos != opt_end:
            return None
        payload = data[end + 3] << 8 | data[end + 4]
        payload = max(MIN_UDP_PAYLOAD, min(payload, OUR_UDP_PAYLOAD))
        do = data[end + 7] & 0x80
        shape += b"E" + payload.to_bytes(2, "big") + (b"D" if do else b"-")
    else:
        return None
    shape += b"R" if recursion_allowed else b"-"
    return data[12:end].lower() + data[2:4] + shape, end


class AnswerTable:
    """Wire answers by request key, for one snapshot generation, bounded in size."""

    __slots__ = ("_table", "limit", "hits", "misses")

    def __init__(self, limit: int = 200_000) -> None:
        self._table: dict[bytes, bytes] = {}
        self.limit = limit
        self.hits = 0
        self.misses = 0

    def answer(self, data: bytes, key: bytes, question_end: int) -> bytes | None:
        wire = self._table.get(key)
        if wire is None:
            self.misses += 1
            return None
        self.hits += 1
        return data[:2] + wire[2:12] + data[12:question_end] + wire[question_end:]

    def store(self, key: bytes, wire: bytes) -> None:
        if len(self._table) < self.limit:
            self._table[key] = wire

    def clear(self) -> None:
        self._table.clear()

    def __len__(self) -> int:
        return len(self._table)
