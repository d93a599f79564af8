"""What every probe gets: one shared HTTP session and a monotonic clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


@dataclass
class ProbeContext:
    session: aiohttp.ClientSession
    clock: Callable[[], float] = field(default=time.monotonic)


def describe(exc: BaseException) -> str:
    """A short reason for a failed probe: ``refused``, ``timeout``, ``reset``, ..."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "refused"
        if isinstance(seen, asyncio.TimeoutError | TimeoutError):
            return "timeout"
        if isinstance(seen, ConnectionResetError):
            return "connection reset"
        if isinstance(seen, aiohttp.ServerDisconnectedError):
            return "server disconnected"
        seen = seen.__cause__ or seen.__context__
    text = str(exc) or type(exc).__name__
    return text if len(text) < 120 else text[:117] + "..."


def url_of(scheme: str, address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}:{port}{path if path.startswith('/') else '/' + path}"
