"""Seeded generators of broken DNS requests, by kind, for the robustness tests.

Every generator takes a :class:`random.Random` and returns request bytes. Most start from a
valid query for a name the example zone serves and break one thing, so the packets get past
the first byte checks and reach the deeper parsing code.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import dns.edns
import dns.flags
import dns.message

NAMES = (
    "www.example.test", "ftp.example.test", "alias.example.test", "x.apps.example.test",
    "a.b.sub.example.test", "sub.example.test", "x.old.example.test", "nope.example.test",
    "example.test", "deep.example.test", "host3.example.test", "example.org", ".",
)
QTYPES = (1, 28, 2, 6, 15, 16, 33, 5, 39, 43, 255, 257, 65, 99, 67, 12345)
OPT = 41


def _case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if rng.random() < 0.3 else c for c in name)


def valid_query(rng: random.Random, *, edns: bool | None = None) -> bytes:
    """A well-formed query; EDNS (with DO, ECS or a cookie, sometimes) when ``edns``."""
    use_edns = rng.random() < 0.6 if edns is None else edns
    options: list[dns.edns.Option] = []
    if use_edns and rng.random() < 0.2:
        options.append(dns.edns.ECSOption("10.1.0.0", 16))
    if use_edns and rng.random() < 0.2:
        options.append(dns.edns.CookieOption(rng.randbytes(8), b""))
    query = dns.message.make_query(_case(rng, rng.choice(NAMES)), rng.choice(QTYPES))
    if use_edns:
        query.use_edns(0, dns.flags.DO if rng.random() < 0.3 else 0,
                       rng.choice((512, 1232, 4096)), options=options)
    query.flags = rng.choice((0, 0x0100, 0x0110, 0x0120))  # RD, CD, AD combinations
    return query.to_wire()


def _question_end(wire: bytes) -> int:
    pos = 12
    while pos < len(wire) and wire[pos]:
        pos += wire[pos] + 1
    return pos + 5


def bitflip(rng: random.Random) -> bytes:
    wire = bytearray(valid_query(rng))
    for _ in range(rng.randint(1, 8)):
        bit = rng.randrange(16, len(wire) * 8)  # leave the ID alone: it is set per packet
        wire[bit // 8] ^= 1 << (bit % 8)
    return bytes(wire)


def truncated(rng: random.Random) -> bytes:
    wire = valid_query(rng)
    return wire[: rng.randrange(len(wire))]


def random_bytes(rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice((rng.randrange(0, 13), rng.randrange(12, 700))))


def random_body(rng: random.Random) -> bytes:
    """A plausible query header, then noise."""
    header = struct.pack("!HHHHHH", rng.randrange(65536), rng.choice((0, 0x0100)),
                         rng.randrange(4), rng.randrange(3), rng.randrange(3), rng.randrange(3))
    return header + rng.randbytes(rng.randrange(0, 300))


def counts(rng: random.Random) -> bytes:
    wire = bytearray(valid_query(rng))
    field = rng.randrange(4)
    value = rng.choice((0, 2, 3, 255, 0xFFFF, rng.randrange(65536)))
    wire[4 + 2 * field : 6 + 2 * field] = value.to_bytes(2, "big")
    return bytes(wire)


def labels(rng: random.Random) -> bytes:
    """Huge label lengths, extended label types, names past 255 octets, labels past the end."""
    wire = valid_query(rng, edns=False)
    header, tail = wire[:12], wire[_question_end(wire) - 4 :]
    choice = rng.randrange(5)
    if choice == 0:  # a length byte of 64..255 (0x40 and 0x80 are reserved label types)
        name = bytes([rng.randrange(64, 256)]) + rng.randbytes(rng.randrange(0, 80)) + b"\0"
    elif choice == 1:  # a label claiming more bytes than the packet holds
        return header + bytes([63]) + b"a" * rng.randrange(0, 62)
    elif choice == 2:  # more than 255 octets in all
        name = (b"\x3f" + b"a" * 63) * rng.randint(4, 6) + b"\0"
    elif choice == 3:  # 127 one-octet labels and more
        name = b"\x01a" * rng.randint(126, 140) + b"\0"
    else:  # binary junk inside labels, and empty labels before the end
        name = b"\x03a\x00b\x00" if rng.random() < 0.5 else b"\x05\xff\x00\x2e\x80\x01\x00"
    return header + name + tail


def pointers(rng: random.Random) -> bytes:
    """Compression pointers in the question: loops, forward, into the header, chains."""
    wire = valid_query(rng, edns=False)
    header, tail = wire[:12], wire[_question_end(wire) - 4 :]
    choice = rng.randrange(6)
    if choice == 0:  # points at itself
        name = b"\xc0\x0c"
    elif choice == 1:  # two pointers pointing at each other
        name = b"\xc0\x0e\xc0\x0c"
    elif choice == 2:  # into the header
        name = bytes([0xC0, rng.randrange(12)])
    elif choice == 3:  # beyond the end
        name = bytes([0xC0 | rng.randrange(64), rng.randrange(256)])
    elif choice == 4:  # a label, then a pointer back to that label: a loop with growth
        name = b"\x03www\xc0\x0c"
    else:  # a long chain of pointers, each to the previous one
        chain = bytearray(b"\x03www\x00")
        for _ in range(rng.randint(5, 60)):
            chain += bytes([0xC0, 12 + len(chain) - 2])
        return header + bytes(chain) + tail
    return header + name + tail


def opt(rng: random.Random) -> bytes:
    """The OPT record broken in one way."""
    wire = bytearray(valid_query(rng, edns=False))
    wire[10:12] = b"\x00\x01"
    choice = rng.randrange(9)
    version = rng.randrange(1, 256) if choice == 0 else 0
    payload = rng.choice((0, 1, 511, 65535)) if choice == 1 else 1232
    owner = b"\x01x\x00" if choice == 2 else b"\x00"
    options = b""
    if choice == 3:  # option length past the end of the RDATA
        options = b"\x00\x0a\x00\xff" + rng.randbytes(4)
    elif choice == 4:  # ECS: bad family, too long a prefix, non-zero scope, unmasked bits
        family, source, scope, address = rng.choice((
            (3, 24, 0, b"\x0a\x00\x00"), (1, 33, 0, b"\x0a\x00\x00\x00\x00"),
            (1, 24, 8, b"\x0a\x00\x00"), (1, 8, 0, b"\x0a\xff"), (2, 129, 0, b"\x20" * 17),
        ))
        body = struct.pack("!HBB", family, source, scope) + address
        options = struct.pack("!HH", 8, len(body)) + body
    elif choice == 5:  # two ECS options
        body = struct.pack("!HBB", 1, 8, 0) + b"\x0a"
        options = (struct.pack("!HH", 8, len(body)) + body) * 2
    elif choice == 6:  # cookies of odd sizes, unknown options
        code = rng.choice((10, 65001, 12, 15))
        options = struct.pack("!HH", code, size := rng.randrange(0, 41)) + rng.randbytes(size)
    rdata_length = len(options) + (rng.choice((1, 7, 200)) if choice == 7 else 0)
    record = owner + struct.pack("!HHBBHH", OPT, payload, rng.randrange(256) if choice == 8
                                 else 0, version, 0x8000, rdata_length) + options
    if choice == 8 and rng.random() < 0.5:  # two OPT records
        wire[10:12] = b"\x00\x02"
        record += record
    return bytes(wire) + record


def opcode(rng: random.Random) -> bytes:
    """Other opcodes (NOTIFY, UPDATE, unassigned), and responses sent as requests."""
    wire = bytearray(valid_query(rng))
    if rng.random() < 0.2:
        wire[2] |= 0x80  # QR: a response; must be dropped
    else:
        wire[2] = (wire[2] & 0x87) | (rng.randrange(1, 16) << 3)
    return bytes(wire)


def qtype(rng: random.Random) -> bytes:
    """Meta and transfer types, odd classes."""
    wire = bytearray(valid_query(rng))
    end = _question_end(wire)
    kind = rng.choice((251, 252, 253, 254, 255, 41, 249, 250, 0, 65535, 1))
    klass = rng.choice((1, 1, 3, 4, 254, 255, 0, rng.randrange(65536)))
    wire[end - 4 : end] = struct.pack("!HH", kind, klass)
    return bytes(wire)


def client_subnet(rng: random.Random) -> bytes:
    """Well-formed ECS options of every shape (/0, /32, /128, odd prefixes), and now and
    then a malformed one, for names that routing policies answer."""
    family = rng.choice((1, 2))
    bits = 32 if family == 1 else 128
    prefix = rng.choice((0, 1, bits // 2, bits - 1, bits, rng.randrange(bits + 1)))
    address = rng.getrandbits(bits) >> (bits - prefix) << (bits - prefix) if prefix else 0
    raw = address.to_bytes(bits // 8, "big")[: (prefix + 7) // 8]
    scope = 0 if rng.random() < 0.9 else rng.randrange(1, 129)
    if rng.random() < 0.05:
        prefix = rng.randrange(bits + 1, 256)  # longer than the address
    body = struct.pack("!HBB", family, prefix, scope) + raw
    name = rng.choice(("www", "db", "db-ro", "WwW", "x.apps", "nope")) + ".example.test"
    query = dns.message.make_query(_case(rng, name), rng.choice(("A", "AAAA", "ANY", "TXT")))
    query.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(8, body)])
    return query.to_wire()


KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "bitflip": bitflip,
    "truncated": truncated,
    "random": random_bytes,
    "random-body": random_body,
    "counts": counts,
    "labels": labels,
    "pointers": pointers,
    "opt": opt,
    "opcode": opcode,
    "qtype": qtype,
}


def with_id(wire: bytes, query_id: int) -> bytes:
    """The packet with its ID set, so each reply can be told apart (if the ID is there)."""
    if len(wire) < 2:
        return wire
    return query_id.to_bytes(2, "big") + wire[2:]


def wants_reply(wire: bytes) -> bool:
    """A readable header in a request (QR clear): the server must answer, FORMERR at worst."""
    return len(wire) >= 12 and not wire[2] & 0x80
