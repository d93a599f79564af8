"""Raw packets: for requests dnspython would refuse to build, and for checking reply bytes."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import dns.message

HEADER = struct.Struct("!HHHHHH")


@dataclass(frozen=True, slots=True)
class Header:
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF


def exchange(data: bytes, host: str, port: int, tcp: bool = False) -> bytes:
    """One request, one reply (a socket timeout is an error: every server here answers)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if tcp:
        with socket.create_connection((host, port), timeout=3.0) as sock:
            sock.sendall(len(data).to_bytes(2, "big") + data)
            length = int.from_bytes(_read(sock, 2), "big")
            return _read(sock, length)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3.0)
        sock.sendto(data, (host, port))
        return sock.recv(65535)


def _read(sock: socket.socket, count: int) -> bytes:
    buffer = b""
    while len(buffer) < count:
        chunk = sock.recv(count - len(buffer))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        buffer += chunk
    return buffer


def header(reply: bytes) -> Header:
    return Header(*HEADER.unpack_from(reply))


def parse(reply: bytes) -> dns.message.Message:
    return dns.message.from_wire(reply)


def question_bytes(message: bytes) -> bytes:
    """The first question of a message as it is on the wire (name in its letter case)."""
    pos = 12
    while message[pos]:
        pos += message[pos] + 1
    return message[12 : pos + 5]


def with_counts(data: bytes, qdcount: int | None = None, arcount: int | None = None) -> bytes:
    fields = list(HEADER.unpack_from(data))
    if qdcount is not None:
        fields[2] = qdcount
    if arcount is not None:
        fields[5] = arcount
    return HEADER.pack(*fields) + data[12:]
