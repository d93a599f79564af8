"""A random-subdomain flood against the real server: every never-seen name gets NXDOMAIN with
the zone's SOA (resolver/authority/negative.py writes these without dnspython), names under
a wildcard still get the wildcard's data, /metrics counts them as before, and the server
answers normally afterwards."""

from __future__ import annotations

import random
import socket

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from tests.support.admin import AdminClient, metric_samples
from tests.support.server import REPO, ResolverProcess

COUNT = 300
SEED = 20261129


def test_random_names_get_nxdomain_with_the_soa() -> None:
    rng = random.Random(SEED)
    with ResolverProcess(REPO / "zones", policies=REPO / "policies") as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        try:
            for i in range(COUNT):
                label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                for _ in range(rng.randint(8, 20)))
                if i % 3 == 1:
                    label = label.upper()
                name = f"{label}.example.test" if i % 2 else f"{label}.x{i}.example.test"
                request = dns.message.make_query(name, rng.choice(["A", "AAAA", "TXT"]),
                                                 use_edns=0 if i % 4 else None,
                                                 want_dnssec=i % 5 == 0)
                sock.sendto(request.to_wire(), (server.host, server.port))
                reply = dns.message.from_wire(sock.recv(65535))
                assert reply.id == request.id and reply.question == request.question
                assert reply.rcode() == dns.rcode.NXDOMAIN, name
                assert reply.flags & dns.flags.AA and not reply.answer
                assert (reply.edns >= 0) == (request.edns >= 0)
                [soa] = reply.authority
                assert soa.rdtype == dns.rdatatype.SOA and soa.name.to_text() == "example.test."
                assert soa.ttl == 300
        finally:
            sock.close()
        wild = server.query("anything-at-all.apps.example.test", "A")
        assert wild.rcode() == dns.rcode.NOERROR and wild.answer
        assert server.query("www.example.test", "A").answer
        api = AdminClient(server.admin_port, token=None)
        samples = metric_samples(api)
        api.close()
        nxdomain = sum(value for (name, labels), value in samples.items()
                       if name == "resolver_queries_total" and ("rcode", "NXDOMAIN") in labels)
        assert nxdomain == COUNT  # counted as the pipeline counted them
        assert "Traceback" not in server.log()
