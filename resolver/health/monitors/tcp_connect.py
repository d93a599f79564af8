"""TCP connect checks: up when the port accepts a connection."""

from __future__ import annotations

import asyncio

from resolver.health.model import ProbeResult, Target
from resolver.health.monitors.base import ProbeContext


async def probe_tcp(target: Target, ctx: ProbeContext) -> ProbeResult:
    start = ctx.clock()
    _, writer = await asyncio.open_connection(target.address, target.port)
    rtt = ctx.clock() - start
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeResult(True, "connected", rtt)
