"""Change batches (Route 53 semantics) applied to zone data: all or nothing, checked like
``resolver check``, the serial always forward, every refusal naming its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import pytest

from resolver.authority.edit import (
    apply_batch,
    next_serial,
    parse_batch,
    parse_new_zone,
    serial_of,
    zone_json,
)
from resolver.authority.load import ZoneData, parse_zone_file
from resolver.errors import InputError

ZONE = """$ORIGIN example.test.
$TTL 3600
@    SOA ns1 hostmaster 100 7200 3600 1209600 300
     NS  ns1
ns1  A   127.0.0.53
www  A   127.0.0.80
     A   127.0.0.81
ftp  CNAME www
"""
ORIGIN = dns.name.from_text("example.test.")


@pytest.fixture
def data(tmp_path: Path) -> ZoneData:
    path = tmp_path / "example.test.zone"
    path.write_text(ZONE)
    return parse_zone_file(path)


def change(action: str, name: str, rtype: str, ttl: int | None = 300,
           records: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"action": action, "name": name, "type": rtype}
    if ttl is not None:
        out["ttl"] = ttl
    if records is not None:
        out["records"] = records
    return out


def apply(data: ZoneData, *changes: dict[str, Any]):  # type: ignore[no-untyped-def]
    return apply_batch(data, parse_batch({"changes": list(changes)}, ORIGIN))


def refused(data: ZoneData, *changes: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as info:
        apply(data, *changes)
    return info.value


def rdatas(data: ZoneData, name: str, rtype: str) -> set[str]:
    rrset = data.rrsets.get(dns.name.from_text(name, ORIGIN), {}).get(
        dns.rdatatype.from_text(rtype))
    return {r.to_text() for r in rrset} if rrset else set()


def test_upsert_create_delete_and_serial(data: ZoneData) -> None:
    edited = apply(
        data,
        change("UPSERT", "www", "A", 60, ["127.0.0.82"]),
        change("CREATE", "new.example.test", "TXT", 60, ['"hello world"']),
        change("DELETE", "ftp.example.test.", "CNAME", None),
    )
    assert rdatas(edited.data, "www", "A") == {"127.0.0.82"}
    assert rdatas(edited.data, "new", "TXT") == {'"hello world"'}
    assert rdatas(edited.data, "ftp", "CNAME") == set()
    assert edited.serial == serial_of(edited.data) == 101
    assert (ORIGIN, dns.rdatatype.SOA) in edited.touched
    # the input was not modified
    assert rdatas(data, "www", "A") == {"127.0.0.80", "127.0.0.81"}
    assert serial_of(data) == 100


def test_delete_then_create_in_one_batch(data: ZoneData) -> None:
    edited = apply(data, change("DELETE", "www", "A", None),
                   change("CREATE", "www", "A", 30, ["127.0.0.9"]))
    assert rdatas(edited.data, "www", "A") == {"127.0.0.9"}


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ([change("CREATE", "www", "A", 60, ["127.0.0.1"])], 409, "changes[0]"),
        ([change("UPSERT", "x", "A", 60, ["127.0.0.1"]), change("DELETE", "nope", "A", None)],
         409, "changes[1]"),
        ([change("DELETE", "www", "A", None, ["127.0.0.80"])], 409, "changes[0].records"),
        ([change("DELETE", "www", "A", 5)], 409, "changes[0].ttl"),
        ([change("CREATE", "www", "CNAME", 60, ["ftp"])], 422, "changes[0]"),
        ([change("UPSERT", "ns1", "TXT", 60, ["x"]), change("UPSERT", "ns1", "CNAME", 60,
                                                          ["www"])], 422, "changes[1]"),
        ([change("DELETE", "ns1", "A", None)], 422, "changes"),  # NS target loses its glue
    ],
)
def test_conflicts_and_check_failures(data: ZoneData, changes: list[dict[str, Any]],
                                      status: int, field: str) -> None:
    error = refused(data, *changes)
    assert (error.status, error.field) == (status, field), error.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], None),
        ({"changes": []}, "changes"),
        ({"changes": "x"}, "changes"),
        ({"changes": [{}] * 1001}, "changes"),
        ({"changes": [change("UPSERT", "www", "A")], "extra": 1}, "extra"),
        ({"changes": [{**change("UPSERT", "www", "A", 1, ["1.2.3.4"]), "x": 1}]},
         "changes[0].x"),
        ({"changes": [change("RENAME", "www", "A")]}, "changes[0].action"),
        ({"changes": [change("UPSERT", "www", "BOGUS", 1, ["x"])]}, "changes[0].type"),
        ({"changes": [change("UPSERT", "www", "ANY", 1, ["x"])]}, "changes[0].type"),
        ({"changes": [change("UPSERT", "www", "A", -1, ["1.2.3.4"])]}, "changes[0].ttl"),
        ({"changes": [change("UPSERT", "www", "A", 2**31, ["1.2.3.4"])]}, "changes[0].ttl"),
        ({"changes": [{**change("UPSERT", "www", "A", 1, ["1.2.3.4"]), "ttl": True}]},
         "changes[0].ttl"),
        ({"changes": [change("UPSERT", "www", "A", 1, ["1.2.3.4", "1.2.3"])]},
         "changes[0].records[1]"),
        ({"changes": [change("UPSERT", "www", "A", 1, [7])]}, "changes[0].records[0]"),
        ({"changes": [change("UPSERT", "www", "A", 1, ["1.2.3.4\n5.6.7.8"])]},
         "changes[0].records[0]"),
        ({"changes": [change("UPSERT", "www", "A", 1, [])]}, "changes[0].records"),
        ({"changes": [change("UPSERT", "www", "A", None, ["1.2.3.4"])]}, "changes[0].ttl"),
        ({"changes": [change("UPSERT", "www.example.org.", "A", 1, ["1.2.3.4"])]},
         "changes[0].name"),
        ({"changes": [change("UPSERT", "", "A", 1, ["1.2.3.4"])]}, "changes[0].name"),
        ({"changes": [change("UPSERT", "a" * 64, "A", 1, ["1.2.3.4"])]}, "changes[0].name"),
        ({"changes": [change("DELETE", "@", "SOA", None)]}, "changes[0].action"),
    ],
)
def test_malformed_batches(body: object, field: str | None) -> None:
    with pytest.raises(InputError) as info:
        parse_batch(body, ORIGIN)
    assert info.value.status == 400
    assert info.value.field == field, info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("@", "example.test."), ("www", "www.example.test."),
     ("WWW.Example.Test", "www.example.test."), ("www.example.test.", "www.example.test."),
     ("*.apps", "*.apps.example.test."),
     ("a.b", "a.b.example.test."), ("example.test", "example.test.")],
)
def test_names(data: ZoneData, text: str, expected: str) -> None:
    edited = apply(data, change("UPSERT", text, "TXT", 60, ["x"]))
    names = {n.to_text().lower() for n, node in edited.data.rrsets.items()
             if dns.rdatatype.TXT in node}
    assert names == {expected}


def test_soa_upsert_keeps_a_serial_ahead_and_bumps_one_behind(data: ZoneData) -> None:
    soa = "ns1 hostmaster {} 7200 3600 1209600 300"
    ahead = apply(data, change("UPSERT", "@", "SOA", 3600, [soa.format(500)]))
    assert ahead.serial == 500
    behind = apply(data, change("UPSERT", "@", "SOA", 3600, [soa.format(7)]))
    assert behind.serial == 101


def test_serial_wraps() -> None:
    assert next_serial(2**32 - 1) == 0
    assert next_serial(5, 4) == 6
    assert next_serial(2**32 - 1, 3) == 3


def test_zone_json_lists_apex_first(data: ZoneData) -> None:
    items = zone_json(data)
    assert items[0]["type"] == "SOA"
    assert {"name": "www.example.test.", "type": "A", "ttl": 3600,
            "records": ["127.0.0.80", "127.0.0.81"]} in items


def test_new_zone_gets_soa_and_ns() -> None:
    spec = parse_new_zone({"name": "new.test", "nameservers": ["ns1.example.net"],
                           "rrsets": [{"name": "www", "type": "A", "ttl": 60,
                                       "records": ["127.0.0.1"]}]}, 2026112801)
    types = [dns.rdatatype.to_text(r.rdtype) for r in spec.rrsets()]
    assert types == ["SOA", "NS", "A"]
    assert spec.rrsets()[0][0].serial == 2026112801


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "../etc"}, "name"), ({"name": "a/b.test"}, "name"), ({"name": 5}, "name"),
     ({"name": "x.test", "ttl": "1"}, "ttl"), ({"name": "x.test", "nameservers": []},
                                                "nameservers"),
     ({"name": "x.test", "rrsets": [{"name": "a", "type": "A"}]}, "rrsets[0].ttl"),
     ({"name": "x.test", "zone": 1}, "zone")],
)
def test_new_zone_refusals(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_new_zone(body, 1)
    assert info.value.field == field
