"""The zone API against the real server on loopback: read-your-writes through DNS, the zone
file on disk after a change, kill -9 right after a 200, hand edits merged, 30 concurrent
writers, and every error path answered with 4xx ``{"error", "field"}`` and nothing applied."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import dns.rcode
import pytest

from resolver.authority.edit import serial_of
from resolver.authority.load import parse_zone_file
from tests.support.admin import TOKEN, AdminClient, upsert
from tests.support.server import ResolverProcess

ZONE = """; shop.test: written by hand, also changed through the API
$ORIGIN shop.test.
$TTL 3600
@               IN SOA  ns1.shop.test. hostmaster.shop.test. (
                        2026010101 ; serial
                        7200 3600 1209600 300 )
                NS      ns1
ns1             A       127.0.0.53
www             A       127.0.0.80      ; the shop front
                AAAA    2001:db8::80
ftp             CNAME   www
$GENERATE 1-3 host$ A 127.0.1.$
"""
ENV = {"RESOLVER_API_TOKEN": TOKEN}


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    folder = tmp_path / "zones"
    folder.mkdir()
    (folder / "shop.test.zone").write_text(ZONE)
    (tmp_path / "policies").mkdir()
    return folder


@pytest.fixture
def server(zones: Path) -> Iterator[ResolverProcess]:
    with ResolverProcess(zones, policies=zones.parent / "policies", env=ENV) as proc:
        yield proc


def answers(server: ResolverProcess, name: str, rtype: str = "A", tcp: bool = False) -> set[str]:
    reply = server.query(name, rtype, tcp=tcp)
    return {r.to_text() for rrset in reply.answer for r in rrset
            if rrset.name.to_text() == name}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_your_writes_through_dns(server: ResolverProcess, api: AdminClient) -> None:
    for i in range(20):
        value = f"127.0.2.{i}"
        reply = api.patch("shop.test", upsert("www", value))
        assert reply.status == 200, reply.body
        # the very next query, UDP and TCP, sees the change (no watcher delay)
        assert answers(server, "www.shop.test.") == {value}
        assert answers(server, "www.shop.test.", tcp=True) == {value}
    soa = server.query("shop.test.", "SOA").answer[0][0]
    assert soa.serial == 2026010101 + 20 == reply.body["serial"]
    assert reply.headers["ETag"] == f'"{soa.serial}"'


def test_zone_file_on_disk_after_a_change(server: ResolverProcess, api: AdminClient,
                                          zones: Path) -> None:
    reply = api.patch("shop.test", upsert("api", "127.0.0.7"),
                      {"action": "DELETE", "name": "ftp", "type": "CNAME"},
                      upsert("www", "v=1", "TXT"))
    assert reply.status == 200, reply.body
    path = zones / "shop.test.zone"
    text = path.read_text()
    data = parse_zone_file(path)  # still a readable zone file
    assert serial_of(data) == 2026010102
    for kept in ("; shop.test: written by hand", "; the shop front", "$GENERATE 1-3",
                 "                        7200 3600 1209600 300 )"):
        assert kept in text
    assert "ftp" not in text
    assert "api" in text and '"v=1"' in text
    assert not [p for p in zones.iterdir() if p.name != "shop.test.zone"]  # no temp files


def test_kill_9_right_after_the_200(zones: Path) -> None:
    proc = ResolverProcess(zones, policies=zones.parent / "policies", env=ENV)
    try:
        api = AdminClient(proc.admin_port)
        for i in range(5):
            assert api.patch("shop.test", upsert(f"k{i}", f"127.0.4.{i}")).status == 200
        reply = api.patch("shop.test", upsert("last", "127.0.4.99"))
        assert reply.status == 200
        proc.proc.kill()  # SIGKILL as soon as the 200 is read
        proc.proc.wait()
    finally:
        proc.stop()
    data = parse_zone_file(zones / "shop.test.zone")
    assert serial_of(data) == reply.body["serial"]
    with ResolverProcess(zones, policies=zones.parent / "policies", env=ENV) as again:
        assert answers(again, "last.shop.test.") == {"127.0.4.99"}
        assert answers(again, "k0.shop.test.") == {"127.0.4.0"}


def test_hand_edit_then_api_change_both_survive(server: ResolverProcess, api: AdminClient,
                                                zones: Path) -> None:
    assert api.patch("shop.test", upsert("early", "127.0.0.11")).status == 200
    path = zones / "shop.test.zone"
    path.write_text(path.read_text() + "byhand          A       127.0.0.12 ; typed in vi\n")
    # at once, before the watcher has seen it: the API reads the file first
    reply = api.patch("shop.test", upsert("late", "127.0.0.13"))
    assert reply.status == 200, reply.body
    for name, value in (("early", "127.0.0.11"), ("byhand", "127.0.0.12"),
                        ("late", "127.0.0.13")):
        assert answers(server, f"{name}.shop.test.") == {value}
    assert "; typed in vi" in path.read_text()


def test_hand_edit_that_does_not_load_refuses_the_change(server: ResolverProcess,
                                                         api: AdminClient, zones: Path) -> None:
    path = zones / "shop.test.zone"
    good = path.read_text()
    path.write_text(good + "broken          A       not-an-address\n")
    reply = api.patch("shop.test", upsert("api", "127.0.0.7"))
    assert reply.status == 409
    assert "shop.test.zone:13" in reply.body["error"]
    assert "not-an-address" in path.read_text()  # the person's file is left alone
    assert answers(server, "www.shop.test.") == {"127.0.0.80"}  # last good version serves
    path.write_text(good + "fixed           A       127.0.0.14\n")
    assert api.patch("shop.test", upsert("api", "127.0.0.7")).status == 200
    assert answers(server, "fixed.shop.test.") == {"127.0.0.14"}


def test_thirty_concurrent_patches_are_all_applied(server: ResolverProcess,
                                                   zones: Path) -> None:
    async def run() -> list[int]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"http://127.0.0.1:{server.admin_port}/api/v1/zones/shop.test"
        async with aiohttp.ClientSession(headers=headers) as session:

            async def one(i: int) -> int:
                body = {"changes": [upsert(f"c{i}", f"127.0.5.{i}")]}
                async with session.patch(url, json=body) as response:
                    return response.status

            return await asyncio.gather(*(one(i) for i in range(30)))

    assert asyncio.run(run()) == [200] * 30
    data = parse_zone_file(zones / "shop.test.zone")
    assert serial_of(data) == 2026010101 + 30
    for i in range(30):
        assert answers(server, f"c{i}.shop.test.") == {f"127.0.5.{i}"}


def test_if_match(server: ResolverProcess, api: AdminClient) -> None:
    etag = api.call("GET", "/api/v1/zones/shop.test").headers["ETag"]
    assert etag == '"2026010101"'
    stale = api.patch("shop.test", upsert("a", "127.0.0.1"), if_match=2026010100)
    assert stale.error_field == (412, "If-Match")
    fresh = api.call("PATCH", "/api/v1/zones/shop.test",
                     {"changes": [upsert("a", "127.0.0.1")]}, headers={"If-Match": etag})
    assert fresh.status == 200
    again = api.call("PATCH", "/api/v1/zones/shop.test",
                     {"changes": [upsert("a", "127.0.0.2")]}, headers={"If-Match": etag})
    assert again.status == 412


def test_create_read_and_delete_a_zone(server: ResolverProcess, api: AdminClient,
                                       zones: Path) -> None:
    body = {"name": "new.test", "nameservers": ["ns1.shop.test"],
            "rrsets": [{"name": "www", "type": "A", "ttl": 60, "records": ["127.0.0.5"]}]}
    created = api.call("POST", "/api/v1/zones", body)
    assert created.status == 201, created.body
    assert created.headers["Location"] == "/api/v1/zones/new.test"
    assert answers(server, "www.new.test.") == {"127.0.0.5"}
    assert parse_zone_file(zones / "new.test.zone").origin.to_text() == "new.test."
    listed = api.call("GET", "/api/v1/zones").body["zones"]
    assert {z["name"] for z in listed} == {"shop.test.", "new.test."}
    zone = api.call("GET", "/api/v1/zones/new.test.").body
    assert {"name": "www.new.test.", "type": "A", "ttl": 60,
            "records": ["127.0.0.5"]} in zone["rrsets"]
    assert api.call("POST", "/api/v1/zones", body).error_field == (409, "name")
    deleted = api.call("DELETE", "/api/v1/zones/new.test")
    assert deleted.status == 200 and deleted.body["file_kept_as"].endswith(".deleted")
    assert server.query("www.new.test.", "A").rcode() == dns.rcode.REFUSED
    assert api.call("GET", "/api/v1/zones/new.test").error_field == (404, "zone")


BAD: list[tuple[str, str, Any, dict[str, str] | None, int, str | None]] = [
    # method, path, body (bytes: raw), headers, status, field
    ("PATCH", "/api/v1/zones/shop.test", b"{not json", None, 400, None),
    ("PATCH", "/api/v1/zones/shop.test", b"", None, 400, None),
    ("PATCH", "/api/v1/zones/shop.test", b'{"changes": NaN}', None, 400, None),
    ("PATCH", "/api/v1/zones/shop.test", [1], None, 400, None),
    ("PATCH", "/api/v1/zones/shop.test", {"changes": {}}, None, 400, "changes"),
    ("PATCH", "/api/v1/zones/shop.test", {"changes": [upsert("a", "1.2.3.4")], "x": 1}, None,
     400, "x"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), upsert("b", "1.2.3")]}, None, 400,
     "changes[1].records[0]"),
    ("PATCH", "/api/v1/zones/shop.test", {"changes": [upsert("a", "1.2.3.4", ttl=-5)]}, None,
     400, "changes[0].ttl"),
    ("PATCH", "/api/v1/zones/shop.test", {"changes": [{**upsert("a", "1.2.3.4"),
                                                       "ttl": "60"}]}, None, 400,
     "changes[0].ttl"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), upsert("x.example.org.", "1.2.3.4")]}, None, 400,
     "changes[1].name"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), upsert("www", "shop.test.", "CNAME")]}, None,
     422, "changes[1]"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), {**upsert("www", "127.0.0.80"),
                                              "action": "CREATE"}]}, None, 409, "changes[1]"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), {"action": "DELETE", "name": "nope",
                                              "type": "A"}]}, None, 409, "changes[1]"),
    ("PATCH", "/api/v1/zones/shop.test",
     {"changes": [upsert("a", "127.0.0.1"), upsert("host1", "127.0.0.9")]}, None, 409,
     "changes"),
    ("PATCH", "/api/v1/zones/shop.test", {"changes": [upsert("a", "127.0.0.1")]},
     {"If-Match": "abc"}, 400, "If-Match"),
    ("PATCH", "/api/v1/zones/nope.test", {"changes": [upsert("a", "127.0.0.1")]}, None, 404,
     "zone"),
    ("GET", "/api/v1/zones/nope.test", None, None, 404, "zone"),
    ("DELETE", "/api/v1/zones/nope.test", None, None, 404, "zone"),
    ("DELETE", "/api/v1/zones/shop.test", None, {"If-Match": "1"}, 412, "If-Match"),
    ("POST", "/api/v1/zones", {"name": "x.test", "ttl": 1e9}, None, 400, "ttl"),
    ("POST", "/api/v1/zones", {"name": "x.test"}, None, 422, None),  # no NS
    ("POST", "/api/v1/zones", {"name": "x.test", "nameservers": "ns1"}, None, 400,
     "nameservers"),
    ("PUT", "/api/v1/zones/shop.test", {}, None, 405, None),
    ("GET", "/api/v1/nothing-here", None, None, 404, None),
]


@pytest.fixture(scope="module")
def untouched(tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[ResolverProcess, AdminClient, Path]]:
    """One server for every bad request: none of them may change anything."""
    zones = tmp_path_factory.mktemp("bad") / "zones"
    zones.mkdir()
    (zones / "shop.test.zone").write_text(ZONE)
    (zones.parent / "policies").mkdir()
    with ResolverProcess(zones, policies=zones.parent / "policies", env=ENV) as proc:
        client = AdminClient(proc.admin_port)
        yield proc, client, zones
        client.close()


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "field"), BAD)
def test_bad_input_is_refused_and_nothing_is_applied(
    untouched: tuple[ResolverProcess, AdminClient, Path], method: str, path: str, body: Any,
    headers: dict[str, str] | None, status: int, field: str | None,
) -> None:
    server, api, zones = untouched
    before = digest(zones / "shop.test.zone")
    raw = body if isinstance(body, bytes) else None
    reply = api.call(method, path, None if raw is not None else body, raw=raw,
                     headers=headers)
    assert reply.error_field == (status, field), reply.body
    assert digest(zones / "shop.test.zone") == before
    assert answers(server, "a.shop.test.") == set()
    assert server.query("shop.test.", "SOA").answer[0][0].serial == 2026010101
    assert sorted(p.name for p in zones.iterdir()) == ["shop.test.zone"]


def test_auth(server: ResolverProcess) -> None:
    anonymous = AdminClient(server.admin_port, token=None)
    assert anonymous.call("GET", "/api/v1/zones").error_field == (401, "Authorization")
    wrong = AdminClient(server.admin_port, token="wrong")
    reply = wrong.call("PATCH", "/api/v1/zones/shop.test",
                       {"changes": [upsert("a", "127.0.0.1")]})
    assert reply.error_field == (401, "Authorization")
    assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert anonymous.call("GET", "/healthz").status == 200
    assert anonymous.call("GET", "/metrics").status == 200
    time.sleep(0.1)
    assert TOKEN not in server.log()
