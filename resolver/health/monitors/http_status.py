"""HTTP and HTTPS checks: expected status codes, optional body text, optional Host header.

HTTPS certificates are not validated (as Route 53 does): the check asks "is it serving",
and backends are addressed by IP.
"""

from __future__ import annotations

from resolver.health.model import ProbeResult, Target
from resolver.health.monitors.base import ProbeContext, url_of

BODY_LIMIT = 5120  # bytes searched for the expected text (Route 53's figure)


async def probe_http(target: Target, ctx: ProbeContext) -> ProbeResult:
    url = url_of(target.kind, target.address, target.port, target.path or "/")
    headers = {"Host": target.host} if target.host else {}
    start = ctx.clock()
    async with ctx.session.get(url, headers=headers, ssl=False, allow_redirects=False) as resp:
        body = await resp.content.read(BODY_LIMIT) if target.expect_body else b""
        status = resp.status
    rtt = ctx.clock() - start
    if status not in target.expect_status:
        return ProbeResult(False, f"status {status}", rtt)
    if target.expect_body and target.expect_body not in body.decode("utf-8", "replace"):
        return ProbeResult(False, f"status {status} but body lacks {target.expect_body!r}", rtt)
    return ProbeResult(True, f"status {status}", rtt)
