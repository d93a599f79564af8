"""``Zone.lookup`` truth tables: one zone, many questions, the kind of answer and its data."""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdatatype
import dns.rrset
import pytest

from resolver.authority.zone import Kind, Lookup, Zone
from tests.unit.authority.zones import EXAMPLE, zone_from_text

ORIGIN = "example.test."


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Zone:
    return zone_from_text(tmp_path_factory.mktemp("zone"), EXAMPLE, ORIGIN)


def lookup(zone: Zone, name: str, rdtype: str) -> Lookup:
    qname = dns.name.from_text(name, dns.name.from_text(ORIGIN)) if name != "@" else zone.origin
    return zone.lookup(qname, dns.rdatatype.from_text(rdtype))


def shape(found: Lookup) -> list[tuple[str, str]]:
    """The RRsets found, as (owner relative to the origin, type)."""
    out = []
    for rrset in found.rrsets:
        assert isinstance(rrset, dns.rrset.RRset)
        out.append((rrset.name.relativize(dns.name.from_text(ORIGIN)).to_text(),
                    dns.rdatatype.to_text(rrset.rdtype)))
    return out


ANSWER, CNAME, DNAME, DELEG, NX, NODATA = (
    Kind.ANSWER, Kind.CNAME, Kind.DNAME, Kind.DELEGATION, Kind.NXDOMAIN, Kind.NODATA,
)

# (name, type) -> (kind, RRsets found, synthesized from a wildcard)
TABLE = [
    # Authoritative data, NODATA, NXDOMAIN.
    ("@", "SOA", ANSWER, [("@", "SOA")], False),
    ("@", "NS", ANSWER, [("@", "NS")], False),
    ("@", "TXT", NODATA, [], False),
    ("www", "A", ANSWER, [("www", "A")], False),
    ("WWW", "TXT", ANSWER, [("www", "TXT")], False),
    ("www", "MX", NODATA, [], False),
    ("nothere", "A", NX, [], False),
    ("a.b.nothere", "A", NX, [], False),
    ("x.www", "A", NX, [], False),
    # CNAME: the CNAME itself answers CNAME and ANY questions.
    ("alias", "A", CNAME, [("alias", "CNAME")], False),
    ("alias", "CNAME", ANSWER, [("alias", "CNAME")], False),
    ("alias", "ANY", ANSWER, [("alias", "CNAME")], False),
    # Wildcards (RFC 4592): synthesis below the closest encloser ...
    ("foo.wild", "A", ANSWER, [("foo.wild", "A")], True),
    ("a.b.wild", "TXT", ANSWER, [("a.b.wild", "TXT")], True),
    ("foo.wild", "MX", NODATA, [], True),
    ("*.wild", "A", ANSWER, [("*.wild", "A")], False),
    # ... blocked by an existing name and by an empty non-terminal,
    ("host.wild", "A", ANSWER, [("host.wild", "A")], False),
    ("host.wild", "TXT", NODATA, [], False),
    ("x.host.wild", "A", NX, [], False),
    ("ent.wild", "A", NODATA, [], False),
    ("x.ent.wild", "A", NX, [], False),
    ("wild", "A", NODATA, [], False),
    # ... a wildcard CNAME,
    ("x.cw", "A", CNAME, [("x.cw", "CNAME")], True),
    ("x.cw", "CNAME", ANSWER, [("x.cw", "CNAME")], True),
    # ... and "*" inside a name is a plain label; *.mid is an empty non-terminal, which as a
    # source of synthesis gives NODATA (RFC 4592 §2.2.1 and §3.3.2).
    ("a.*.mid", "A", ANSWER, [("a.*.mid", "A")], False),
    ("x.mid", "A", NODATA, [], False),
    ("a.x.mid", "A", NODATA, [], False),
    ("*.mid", "A", NODATA, [], False),
    # Delegations: the cut's NS for everything at or below it, except DS at the cut.
    ("sub", "A", DELEG, [("sub", "NS")], False),
    ("sub", "NS", DELEG, [("sub", "NS")], False),
    ("sub", "ANY", DELEG, [("sub", "NS")], False),
    ("host.sub", "A", DELEG, [("sub", "NS")], False),
    ("ns1.sub", "A", DELEG, [("sub", "NS")], False),
    ("a.b.sub", "DS", DELEG, [("sub", "NS")], False),
    ("sub", "DS", ANSWER, [("sub", "DS")], False),
    ("ns1", "DS", NODATA, [], False),
    # DNAME: every name below the owner, whatever the type; the owner itself is plain data.
    ("x.dn", "A", DNAME, [("dn", "DNAME")], False),
    ("a.b.dn", "CNAME", DNAME, [("dn", "DNAME")], False),
    ("x.dn", "DNAME", DNAME, [("dn", "DNAME")], False),
    ("dn", "DNAME", ANSWER, [("dn", "DNAME")], False),
    ("dn", "A", NODATA, [], False),
    ("DN", "ANY", ANSWER, [("dn", "DNAME")], False),
    # ANY: one RRset (RFC 8482), the first in zone-file order.
    ("@", "ANY", ANSWER, [("@", "SOA")], False),
    ("www", "ANY", ANSWER, [("www", "A")], False),
    ("mail", "ANY", ANSWER, [("mail", "A")], False),
    ("foo.wild", "ANY", ANSWER, [("foo.wild", "A")], True),
    ("nothere", "ANY", NX, [], False),
    ("ent.wild", "ANY", NODATA, [], False),
]


@pytest.mark.parametrize(
    ("name", "rdtype", "kind", "rrsets", "wildcard"), TABLE,
    ids=[f"{row[0]}/{row[1]}" for row in TABLE],
)
def test_lookup(zone: Zone, name: str, rdtype: str, kind: Kind,
                rrsets: list[tuple[str, str]], wildcard: bool) -> None:
    found = lookup(zone, name, rdtype)
    assert (found.kind, shape(found), found.wildcard) == (kind, rrsets, wildcard)


def test_answers_do_not_depend_on_the_transport(zone: Zone) -> None:
    qname = dns.name.from_text("www." + ORIGIN)
    for rdtype in (dns.rdatatype.ANY, dns.rdatatype.A):
        assert zone.lookup(qname, rdtype, tcp=True) == zone.lookup(qname, rdtype, tcp=False)


def test_wildcard_answer_takes_the_query_name(zone: Zone) -> None:
    found = lookup(zone, "Some.Thing.wild", "A")
    rrset = found.rrsets[0]
    assert isinstance(rrset, dns.rrset.RRset)
    assert rrset.name == dns.name.from_text("some.thing.wild." + ORIGIN)
    assert rrset.ttl == 3600 and [r.to_text() for r in rrset] == ["192.0.2.100"]
    source = zone.get(dns.name.from_text("*.wild." + ORIGIN), dns.rdatatype.A)
    assert isinstance(source, dns.rrset.RRset) and source.name.labels[0] == b"*"


def test_delegation_and_dname_carry_their_owner(zone: Zone) -> None:
    assert lookup(zone, "a.b.sub", "A").owner == dns.name.from_text("sub." + ORIGIN)
    assert lookup(zone, "x.y.dn", "A").owner == dns.name.from_text("dn." + ORIGIN)


def test_negative_soa_ttl_is_min_of_soa_ttl_and_minimum(zone: Zone) -> None:
    """RFC 2308 §3: the SOA TTL (7200) and MINIMUM (600) differ; the lower one is used."""
    soa = zone.negative_soa()
    assert soa.ttl == 600
    assert soa.name == zone.origin and soa[0].minimum == 600
    assert zone.soa.ttl == 7200  # the zone's own SOA keeps its TTL


def test_exists_knows_empty_non_terminals(zone: Zone) -> None:
    for name in ("ent.wild", "mid", "*.mid", "wild", "@"):
        qname = zone.origin if name == "@" else dns.name.from_text(name, zone.origin)
        assert zone.exists(qname), name
    assert not zone.exists(dns.name.from_text("nothere", zone.origin))


def test_generate_and_include_load(tmp_path: Path) -> None:
    """$GENERATE with a modifier and $INCLUDE relative to the including file."""
    (tmp_path / "extra.inc").write_text("included A 192.0.2.150\n")
    text = EXAMPLE + "$INCLUDE extra.inc\n$GENERATE 1-3 host${10,2,d} A 192.0.2.$\n"
    zone = zone_from_text(tmp_path, text, ORIGIN)
    for name, address in [("included", "192.0.2.150"), ("host11", "192.0.2.1"),
                          ("host13", "192.0.2.3"), ("v17", None)]:
        found = lookup(zone, name, "A")
        if address is None:
            assert found.kind is Kind.CNAME
            continue
        assert found.kind is Kind.ANSWER
        assert [r.to_text() for r in found.rrsets[0]] == [address]  # type: ignore[union-attr]
