"""Recent recursive answers as wire bytes, replayed with their TTLs decremented.

The fast path (``fastpath.AnswerTable``) replays bytes that never change; a recursive answer
changes every second because its TTLs count down. This table keeps the reply built for a
request key together with the offset of every TTL field in it, and on a hit splices in the
client's ID and question and rewrites each TTL as ``ttl - whole seconds since stored``.

Elapsed time is counted in whole seconds of the clock (``int(now) - int(stored)``), as
Unbound counts it, so every entry's TTLs change at the same instants. That lets the table keep
``current``: the replies valid for the whole of the present second, request less ID -> reply
less ID, which the UDP loop reads with a single dict lookup, like the static fast path. It is
emptied when the second turns (:meth:`turn_if_due`, called by the UDP loop once per wake-up
and by :meth:`replay`); a hot entry is then rebuilt once by :meth:`replay`.

It is only a shortcut in front of the recursion cache, and errs on the side of the slow path:
an entry stops being used one second plus 10 % of its smallest TTL before that TTL runs out
(so the last stretch of a popular entry goes through the cache, where prefetch sees it);
answers with an EDE (stale, errors), truncated ones and anything but NOERROR/NXDOMAIN are
never stored; the table is cleared whenever the zones change. Requests with an ECS option are
neither offered nor looked up (``QueryHandler``): the key holds the ECS prefix, not the
address, and recursion does no ECS, so they always take the slow path.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from resolver.fastpath import replay
from resolver.model import Answer

_OPT = 41
_TC = 0x02  # in the third header byte


class RecentAnswers:
    """Replies by request key, and (``exact[tcp]``) by the request itself less its ID, for
    requests whose name was lowercase: there a hit is one dict lookup, and the TTLs are
    rewritten once a second per entry, not once per query (:meth:`replay`)."""

    __slots__ = ("_table", "_clock", "limit", "hits", "exact", "current", "turn_at")

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 50_000) -> None:
        self._table: dict[bytes, tuple[bytes, tuple[tuple[int, int], ...], float, float]] = {}
        self._clock = clock
        self.limit = limit
        self.hits = 0
        # per transport (UDP, TCP: the same bytes may get another reply, truncated or not):
        # request less ID -> [reply less ID as of `elapsed`, elapsed, wire, fields, stored, until]
        self.exact: tuple[dict[bytes, list], ...] = ({}, {})  # type: ignore[type-arg]
        # per transport: request less ID -> reply less ID, right until `turn_at` (module doc).
        # Read in place by the UDP loop: emptied, never replaced.
        self.current: tuple[dict[bytes, bytes], ...] = ({}, {})
        self.turn_at = 0.0

    def turn_if_due(self, now: float) -> None:
        """Empty ``current`` once the clock has passed the second its replies were made for."""
        if now >= self.turn_at:
            for current in self.current:
                current.clear()
            self.turn_at = int(now) + 1.0

    def clock(self) -> float:
        return self._clock()

    def replay(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The reply to exactly this request (but its ID), TTLs counted down; or None."""
        exact = self.exact[tcp]
        entry = exact.get(data[2:])
        if entry is None:
            return None
        now = self._clock()
        if now >= entry[5]:
            del exact[data[2:]]
            return None
        self.turn_if_due(now)
        elapsed = int(now) - int(entry[4])
        if elapsed != entry[1]:
            out = bytearray(entry[2])
            for offset, ttl in entry[3]:
                struct.pack_into("!I", out, offset, ttl - elapsed)
            entry[0], entry[1] = bytes(out[2:]), elapsed
        if entry[5] >= self.turn_at and len(self.current[tcp]) < self.limit:
            self.current[tcp][data[2:]] = entry[0]  # good for the rest of this second
        self.hits += 1
        return data[:2] + entry[0]

    def answer(self, data: bytes, key: bytes, question_end: int) -> bytes | None:
        entry = self._table.get(key)
        if entry is None:
            return None
        wire, fields, stored, until = entry
        now = self._clock()
        if now >= until:
            del self._table[key]
            return None
        self.hits += 1
        out = bytearray(replay(data, wire, question_end))
        elapsed = int(now) - int(stored)
        if elapsed:
            for offset, ttl in fields:
                struct.pack_into("!I", out, offset, ttl - elapsed)
        return bytes(out)

    def offer(self, key: bytes, wire: bytes, answer: Answer, request: bytes = b"",
              question_end: int = 0, tcp: bool = False) -> None:
        """Store the reply just built for ``key`` (and for ``request`` itself, when its name
        is lowercase) if it is a plain recursive answer."""
        if answer.stage != "recursion" or answer.ede or answer.rcode not in (0, 3):
            return
        if wire[2] & _TC or len(self._table) >= self.limit:
            return
        fields = ttl_fields(wire)
        if not fields:
            return
        smallest = min(ttl for _, ttl in fields)
        lifetime = smallest - 1 - 0.1 * smallest
        if lifetime <= 0:
            return
        now = self._clock()
        self._table[key] = (wire, fields, now, now + lifetime)
        name = request[12 : question_end - 4]
        exact = self.exact[tcp]
        if request and name == name.lower() and len(exact) < self.limit:
            exact[request[2:]] = [wire[2:], 0, wire, fields, now, now + lifetime]

    def clear(self) -> None:
        self._table.clear()
        for level in (*self.exact, *self.current):
            level.clear()

    def __len__(self) -> int:
        return len(self._table)


def ttl_fields(wire: bytes) -> tuple[tuple[int, int], ...] | None:
    """(offset, ttl) of every RR's TTL except OPT's; None when the message cannot be walked."""
    try:
        qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHH", wire, 4)
        pos = 12
        for _ in range(qdcount):
            pos = _skip_name(wire, pos) + 4
        out = []
        for _ in range(ancount + nscount + arcount):
            pos = _skip_name(wire, pos)
            rdtype, _cls, ttl, rdlength = struct.unpack_from("!HHIH", wire, pos)
            if rdtype != _OPT:
                out.append((pos + 4, ttl))
            pos += 10 + rdlength
        if pos != len(wire):
            return None
        return tuple(out)
    except (struct.error, IndexError):
        return None


def _skip_name(wire: bytes, pos: int) -> int:
    while True:
        length = wire[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += length + 1
