"""DNS checks: one UDP question to the member; up on NOERROR with an answer or NODATA."""

from __future__ import annotations

import dns.asyncquery
import dns.message
import dns.rcode

from resolver.health.model import ProbeResult, Target
from resolver.health.monitors.base import ProbeContext


async def probe_dns(target: Target, ctx: ProbeContext) -> ProbeResult:
    query = dns.message.make_query(target.query_name or ".", target.query_type)
    start = ctx.clock()
    reply = await dns.asyncquery.udp(query, target.address, port=target.port,
                                     timeout=target.timing.timeout)
    rtt = ctx.clock() - start
    rcode = reply.rcode()
    if rcode != dns.rcode.NOERROR:
        return ProbeResult(False, f"rcode {dns.rcode.to_text(rcode)}", rtt)
    return ProbeResult(True, f"rcode NOERROR, {len(reply.answer)} answer RRset(s)", rtt)
