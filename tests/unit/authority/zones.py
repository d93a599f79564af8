"""Small zones built from master-file text, for the authority unit tests (no sockets)."""

from __future__ import annotations

from pathlib import Path

import dns.name

from resolver.authority.check import build_zone, check_zone
from resolver.authority.load import parse_zone_file
from resolver.authority.store import ZoneStore
from resolver.authority.zone import Zone

EXAMPLE = """\
$ORIGIN example.test.
$TTL 3600
@       7200 SOA ns1 hostmaster 1 7200 3600 1209600 600
        NS      ns1
        NS      ns.other.test.
        MX      10 mail
        A       192.0.2.1
ns1     A       192.0.2.53
mail    A       192.0.2.25
        AAAA    2001:db8::25
www     A       192.0.2.80
        TXT     "www"
alias   CNAME   www
*.wild  A       192.0.2.100
        TXT     "wildcard"
host.wild A     192.0.2.101
a.ent.wild A    192.0.2.102
*.cw    CNAME   www
a.*.mid A       192.0.2.110
sub     NS      ns1.sub
        NS      ns.other.test.
        DS      1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns1.sub A       192.0.2.200
child   NS      ns1.child
        DS      2 13 2 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210
ns1.child A     192.0.2.220
dn      DNAME   other.test.
dn2     DNAME   target.example.test.
target  A       192.0.2.120
www.target A    192.0.2.121
mx-wild MX      10 x.wild
srv     SRV     0 0 443 www
svc     SVCB    1 www alpn=h2
$GENERATE 1-17 v$ CNAME v${1}
v18     CNAME   www
"""

OTHER = """\
$ORIGIN other.test.
$TTL 1800
@       300 SOA ns hostmaster 7 3600 900 604800 3600
        NS      ns
ns      A       198.51.100.53
www     A       198.51.100.80
x       A       198.51.100.1
back    CNAME   www.example.test.
"""

CHILD = """\
$ORIGIN child.example.test.
$TTL 600
@       SOA ns1 hostmaster 3 3600 900 604800 60
        NS      ns1
ns1     A       192.0.2.220
"""


def zone_from_text(tmp_path: Path, text: str, origin: str) -> Zone:
    """Parse, check and build one zone, as the server does at load time."""
    path = tmp_path / f"{origin.rstrip('.')}.zone"
    path.write_text(text)
    data = parse_zone_file(path)
    problems = check_zone(data)
    assert not problems, problems
    return build_zone(data)


def store_from(tmp_path: Path, *zones: tuple[str, str]) -> ZoneStore:
    built = {}
    for text, origin in zones:
        built[dns.name.from_text(origin)] = zone_from_text(tmp_path, text, origin)
    return ZoneStore(built)
