"""Bound listening sockets, made here rather than by the event loop.

Binding ourselves gives every event loop (asyncio, uvloop) the same behaviour and the same
errors: uvloop reports a UDP port in use as "could not bind to local_addr" without an errno,
which is no message to print. IPv6 sockets are IPv6-only, so ``0.0.0.0`` and ``::`` can be
listened on side by side.
"""

from __future__ import annotations

import contextlib
import errno
import socket

UDP_RECEIVE_BUFFER = 1 << 20  # room for a burst of queries while the loop is busy


class BindError(OSError):
    """A listener could not be bound; ``str()`` is a message for the operator."""


def bind(host: str, port: int, kind: int, reuse_port: bool = False) -> socket.socket:
    """A socket of ``kind`` (``SOCK_DGRAM`` or ``SOCK_STREAM``) bound to ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        else:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(512)
    except OSError as exc:
        sock.close()
        raise BindError(exc.errno, _explain(exc, port, kind)) from None
    sock.setblocking(False)
    return sock


def _explain(exc: OSError, port: int, kind: int) -> str:
    proto = "udp" if kind == socket.SOCK_DGRAM else "tcp"
    text = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return f"{proto} port {port} is already in use"
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return f"{text} ({proto} port {port} needs root or CAP_NET_BIND_SERVICE)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{text} (no interface has this address)"
    return f"{text} ({proto})"


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` right now (for ``--listen ADDR:0`` with
    several workers, and for tests); best effort, as any later bind may race."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both UDP and TCP on {host}")
