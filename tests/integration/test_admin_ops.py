"""Operations endpoints on the real server: metrics, health, readiness, status, reload, the
OpenAPI document, and how the API starts (or refuses to) without a token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resolver.admin.openapi import document
from tests.support.admin import AdminClient, metric_samples, upsert
from tests.support.server import ResolverProcess

ZONE = """$ORIGIN ops.test.
$TTL 300
@    SOA ns1 hostmaster 7 7200 3600 1209600 300
     NS  ns1
ns1  A   127.0.0.53
www  A   127.0.0.80
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ops")
    (root / "zones").mkdir()
    (root / "zones" / "ops.test.zone").write_text(ZONE)
    (root / "policies").mkdir()
    return root


def test_metrics(server: ResolverProcess, api: AdminClient) -> None:
    for _ in range(5):
        server.query("www.ops.test.", "A")
    server.query("nope.ops.test.", "AAAA")
    values = metric_samples(api)
    key = ("resolver_queries_total", (("rcode", "NOERROR"), ("stage", "authority"),
                                      ("type", "A")))
    assert values[key] >= 1
    assert values[("resolver_queries_total", (("rcode", "NXDOMAIN"), ("stage", "authority"),
                                              ("type", "AAAA")))] >= 1
    assert values[("resolver_fastpath_hits_total", ())] >= 3  # the repeats came from the table
    assert values[("resolver_zone_serial", (("zone", "ops.test."),))] >= 7
    for name in ("resolver_upstream_latency_seconds_count", "resolver_cache_hits_total",
                 "resolver_health_check_duration_seconds_count", "resolver_zones"):
        assert (name, ()) in values


def test_health_ready_status(server: ResolverProcess, api: AdminClient) -> None:
    assert api.call("GET", "/healthz", auth=False).body == {"status": "ok"}
    ready = api.call("GET", "/readyz", auth=False)
    assert (ready.status, ready.body["ready"]) == (200, True)
    status = api.call("GET", "/api/v1/status").body
    assert status["listeners"] == [f"127.0.0.1:{server.port}"]
    assert status["zones"][0]["name"] == "ops.test."
    assert status["uptime_seconds"] >= 0 and status["version"]


def test_reload_reads_files_now(server: ResolverProcess, api: AdminClient,
                                folder: Path) -> None:
    path = folder / "zones" / "ops.test.zone"
    before = os.stat(path)
    text = path.read_text().replace("127.0.0.80", "127.0.0.88")  # same size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # invisible to the watcher
    reply = api.call("POST", "/api/v1/reload")
    assert reply.status == 200 and reply.body["reloaded"] is True
    assert server.query("www.ops.test.", "A").answer[0][0].to_text() == "127.0.0.88"


def test_openapi_document_is_served(api: AdminClient) -> None:
    reply = api.call("GET", "/api/v1/openapi.json")
    assert reply.status == 200 and reply.body == document()
    assert api.call("GET", "/api/v1/openapi.json", auth=False).status == 401


def test_without_a_token_the_api_refuses_but_metrics_answer(folder: Path) -> None:
    env = {"RESOLVER_API_TOKEN": ""}  # an empty variable is no token
    with ResolverProcess(folder / "zones", policies=folder / "policies", env=env) as proc:
        client = AdminClient(proc.admin_port, token="anything")
        assert client.call("GET", "/api/v1/zones").error_field == (403, "Authorization")
        assert client.patch("ops.test", upsert("x", "127.0.0.1")).status == 403
        assert client.call("GET", "/metrics", auth=False).status == 200
        assert "has no token" in proc.log()
