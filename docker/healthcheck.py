#!/usr/bin/env python3
"""Container health check: the server answers one DNS query over UDP.

Any well-formed reply with our ID counts (an answer, NXDOMAIN, REFUSED): it proves the
listener, the event loop and the query path are alive. Whether the answers are right is for
``/readyz`` and monitoring, not for restarting the container.

Environment: RESOLVER_HEALTHCHECK_ADDR (default ``127.0.0.1:53``; ``[::1]:53`` for IPv6) and
RESOLVER_HEALTHCHECK_NAME (default ``.``, asked for its SOA). Exit 0 when healthy, else 1.
"""

from __future__ import annotations

import os
import sys

import dns.exception
import dns.message
import dns.query
import dns.rcode


def main() -> int:
    address = os.environ.get("RESOLVER_HEALTHCHECK_ADDR", "127.0.0.1:53")
    name = os.environ.get("RESOLVER_HEALTHCHECK_NAME", ".")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    query = dns.message.make_query(name, "SOA")
    try:
        reply = dns.query.udp(query, host, port=int(port), timeout=3)
    except (OSError, ValueError, dns.exception.DNSException) as exc:
        print(f"unhealthy: no reply from {address}: {exc or type(exc).__name__}",
              file=sys.stderr)
        return 1
    print(f"healthy: {address} answered {name} SOA with {dns.rcode.to_text(reply.rcode())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
