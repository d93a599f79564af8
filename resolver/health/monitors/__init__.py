"""Probes, one module per kind, registered by ``Target.kind``.

A probe is ``async (target, ProbeContext) -> ProbeResult``: it reports what it saw and never
decides health (the board does). The scheduler bounds each probe by the target's timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from resolver.health.model import ProbeResult, Target
from resolver.health.monitors.base import ProbeContext, describe
from resolver.health.monitors.dns_query import probe_dns
from resolver.health.monitors.http_status import probe_http
from resolver.health.monitors.replica_status import probe_json, probe_patroni
from resolver.health.monitors.tcp_connect import probe_tcp

Probe = Callable[[Target, ProbeContext], Awaitable[ProbeResult]]

PROBES: dict[str, Probe] = {
    "http": probe_http,
    "https": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "json": probe_json,
    "patroni": probe_patroni,
}

__all__ = ["PROBES", "Probe", "ProbeContext", "describe"]
