"""Root hints: the root servers' names and addresses that iteration starts from.

The file is the IANA ``named.root`` master-file format (``. NS A.ROOT-SERVERS.NET.`` plus the
servers' A/AAAA records). The IANA file is bundled as ``resolver/data/root.hints``; tests and
private trees pass their own with ``--root-hints FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
import dns.rrset
import dns.zonefile

from resolver.errors import ConfigError

BUNDLED = "data/root.hints"


@dataclass(frozen=True, slots=True)
class RootHints:
    """The root NS RRset and the hinted addresses of its names."""

    ns: dns.rrset.RRset
    addresses: tuple[tuple[dns.name.Name, dns.rrset.RRset], ...]
    source: str

    def all_addresses(self) -> tuple[str, ...]:
        return tuple(rd.address for _, rrset in self.addresses for rd in rrset)


def load_hints(path: str | Path | None) -> RootHints:
    """Parse ``path`` (or the bundled IANA file when None); a bad file is a ConfigError."""
    if path is None:
        text = resources.files("resolver").joinpath(BUNDLED).read_text()
        source = "bundled IANA root hints"
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(str(path), f"cannot read root hints: {exc.strerror or exc}") from None
        source = str(path)
    return parse_hints(text, source)


def parse_hints(text: str, source: str = "root hints") -> RootHints:
    try:
        rrsets = dns.zonefile.read_rrsets(text, origin=dns.name.root, relativize=False)
    except dns.exception.DNSException as exc:
        raise ConfigError(source, f"invalid root hints: {exc}") from None
    ns = next(
        (r for r in rrsets if r.name == dns.name.root and r.rdtype == dns.rdatatype.NS), None
    )
    if ns is None:
        raise ConfigError(source, "root hints have no '. NS' records")
    targets = {rd.target for rd in ns}
    addresses = tuple(
        (r.name, r)
        for r in rrsets
        if r.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and r.name in targets
    )
    if not addresses:
        raise ConfigError(source, "root hints give no address for any root server")
    return RootHints(ns, addresses, source)
