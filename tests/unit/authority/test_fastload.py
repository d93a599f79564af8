"""fastload reads plain lines exactly as dnspython's reader does: every zone file here is
parsed both ways (fast path on, and dnspython alone) and the results compared record by
record: names (with their letter case), types, TTLs, rdata, comments, the line each RRset
starts on, problems, included files, and the error (file, line, message) when there is one."""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from bench import gen_zone
from resolver.authority import fastload
from resolver.authority.load import ZoneData, parse_zone_file
from resolver.errors import ZoneError

REPO = Path(__file__).resolve().parents[3]
ORIGIN = dns.name.from_text("fast.test.")

TRICKY = """; no $TTL before the SOA: the SOA's minimum is the default (RFC 2308 aside)
$ORIGIN fast.test.
@   IN  SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )
    IN  NS  ns1
@       NS  ns2.fast.test.   ; absolute, with a comment
ns1     A   127.0.0.1
ns2 600 A   127.0.0.2
        A   127.0.0.3        ; the last TTL stated (600) carries on
Ns3 IN 700 A 127.0.0.4
ns4 1h  IN  aaaa 2001:DB8:0:0::1
ns5	3600	in	A	127.0.0.5
MiXeD   cname   ns1
txt     TXT "quoted; not a comment" (
            "second string" )
after   A   127.0.0.6
$TTL 1d
mx      MX  10 ns1
        MX  20 mail.elsewhere.example.
srv     SRV 0 5 5060 ns1
ptr     PTR ns1.fast.test.
dn      DNAME   other.example.
$ORIGIN sub.fast.test.
x       A   127.0.0.7
$ORIGIN deeper
y       A   127.0.0.8
@       A   127.0.0.9
$origin fast.test.
*.wild  A   127.0.0.10
out.side.example. A 127.0.0.11
cn      CNAME a
cn      CNAME b
dup     A   127.0.0.12
dup 60  A   127.0.0.13
$GENERATE 1-3 gen$ A 127.0.1.$
   ; an indented comment
\\.esc   A   127.0.0.14
typed   TYPE1 \\# 4 7f00000f
last    A   127.0.0.16 ;"""

ERRORS = [
    "bad     A   127.0.0.256",
    "bad     AAAA  not-an-address",
    "bad     MX  65536 ns1",
    "bad     MX  -1 ns1",
    "bad     A   127.0.0.1 extra",
    "bad     CNAME  a..b",
    "bad     SRV 1 2 ns1",
    "bad  99999999999 A 127.0.0.1",
    "bad  1x A 127.0.0.1",
    "bad CH A 127.0.0.1",
    "$TTL",
    "$TTL 1 2",
    "$ORIGIN",
    "$BOGUS x",
    "bad A",
    "bad     NS  " + "x" * 64,
    "bad     CNAME  " + ".".join(["y" * 63] * 4),  # a name over 255 bytes
    ".".join(["z" * 60] * 4) + "  A  127.0.0.1",
]


def snapshot(data: ZoneData) -> object:
    records = [
        (name.to_text(), rdtype, rrset.name.to_text(), rrset.ttl,
         [(rdata.to_text(), rdata.rdcomment) for rdata in rrset])
        for name, node in data.rrsets.items() for rdtype, rrset in node.items()
    ]
    lines = [(name.to_text(), rdtype, where) for (name, rdtype), where in data.lines.items()]
    return records, lines, data.problems, data.files


def parse_both(path: Path, origin: dns.name.Name | None = None,
               monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[object, object]:
    assert monkeypatch is not None
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(fastload, "ENABLED", enabled)
        try:
            results.append(snapshot(parse_zone_file(path, origin)))
        except ZoneError as exc:
            results.append(("error", exc.where, exc.line, exc.message))
    return results[0], results[1]


def zone_files() -> list[Path]:
    return sorted((REPO / "zones").glob("*.zone")) + sorted((REPO / "tests").rglob("*.zone"))


@pytest.mark.parametrize("path", zone_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_repository_zones(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference = parse_both(path, monkeypatch=monkeypatch)
    assert fast == reference


def test_bench_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bench.test.zone"
    path.write_text("\n".join(gen_zone.zone_lines(2000)) + "\n")
    fast, reference = parse_both(path, monkeypatch=monkeypatch)
    assert fast == reference
    assert len(fast[0]) > 3000  # type: ignore[index]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final", ["", "\n"])
def test_tricky_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str,
                      final: str) -> None:
    include = tmp_path / "inc.part"
    include.write_text("inc A 127.0.0.20\n  A 127.0.0.21 ; in the included file\n")
    text = TRICKY + "\n$INCLUDE inc.part\nafterinc A 127.0.0.22" + final
    path = tmp_path / "fast.test.zone"
    path.write_bytes(text.replace("\n", newline).encode())
    fast, reference = parse_both(path, ORIGIN, monkeypatch)
    assert fast == reference
    assert fast[0][0][0] == "fast.test."  # type: ignore[index]


@pytest.mark.parametrize("bad", ERRORS)
def test_errors_are_dnspythons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
                               ) -> None:
    path = tmp_path / "fast.test.zone"
    path.write_text("$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.1\n"
                    f"{bad}\nafter A 127.0.0.2\n")
    fast, reference = parse_both(path, ORIGIN, monkeypatch)
    assert fast == reference


def test_no_ttl_at_all_is_dnspythons_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    path = tmp_path / "fast.test.zone"
    path.write_text("www A 127.0.0.1\n")
    fast, reference = parse_both(path, ORIGIN, monkeypatch)
    assert fast == reference and fast[0] == "error"  # type: ignore[index]


def test_names_are_shared(tmp_path: Path) -> None:
    """One Name object per distinct name: owners, and targets that name an owner."""
    path = tmp_path / "fast.test.zone"
    path.write_text("$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 127.0.0.1\n"
                    "ns1 AAAA ::1\nalias CNAME ns1\n")
    data = parse_zone_file(path, ORIGIN)
    ns1 = [name for name in data.rrsets if name.labels[0] == b"ns1"][0]
    node = data.rrsets[ns1]
    assert node[1].name is node[28].name is ns1
    assert next(iter(data.rrsets[dns.name.from_text("alias", ORIGIN)][5])).target is ns1


def test_canonical_ipv6_agrees_with_dnspython() -> None:
    """Where the fast path keeps an address as written, dnspython would have too."""
    import ipaddress
    import random

    import dns.ipv6

    rng = random.Random(6)
    for _ in range(3000):
        raw = bytearray(rng.getrandbits(8) for _ in range(16))
        for group in range(8):
            if rng.random() < 0.5:
                raw[2 * group : 2 * group + 2] = b"\0\0"
        text = dns.ipv6.inet_ntoa(bytes(raw))
        address = ipaddress.IPv6Address(bytes(raw))
        for form in (text, address.exploded, address.compressed, text.upper(),
                     text.replace("::", ":0::", 1), "0" + text):
            try:
                same = dns.ipv6.canonicalize(form) == form
            except Exception:
                same = False
            assert not fastload.canonical_ipv6(form) or same, form
            if same and "." not in form:
                assert fastload.canonical_ipv6(form), form
