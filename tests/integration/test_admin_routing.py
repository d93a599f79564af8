"""Pools, replicas, policies and explain through the admin API of the real server: member
overrides change DNS answers (and expire), pushed roles change ``db`` answers and expire, two
pushed primaries fail closed, pushes win over polling until they expire, and a policy put
through the API is served (and checked) at once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import AdminClient
from tests.support.backends import Backends
from tests.support.server import REPO, ResolverProcess, free_port

ZONE = """$ORIGIN r.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
     NS  ns1
ns1  A   127.0.0.53
"""
POLICIES = """
db:                       # the one primary, roles pushed only
  type: A
  ttl: 5
  values: [127.0.0.41]
  dynamic:
    pools:
      writer:
        values: [{value: 127.0.0.41}, {value: 127.0.0.42}, {value: 127.0.0.43}]
        replication: {role: primary, source: push}
    rules: [{pool: writer}]
    on_all_down: servfail
web:                      # health-checked on loopback ports nobody serves: down until told
  type: A
  ttl: 5
  values: [127.0.0.99]
  dynamic:
    pools:
      main:
        mode: all
        values: [{value: 127.0.0.21}, {value: 127.0.0.22}]
    rules: [{pool: main}]
    on_all_down: values
  octodns:
    healthcheck: {protocol: TCP, port: PORT, interval: 1s, timeout: 500ms}
polled:                   # roles polled from a JSON status URL, pushes on top
  type: A
  ttl: 5
  values: [127.0.50.1]
  dynamic:
    pools:
      pg:
        values: [{value: 127.0.50.1}, {value: 127.0.50.2}]
        replication: {role: primary, source: json, port: PORT, path: /status, interval: 300ms}
    rules: [{pool: pg}]
    on_all_down: servfail
"""
WAIT = 10.0


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    found = Backends(port=free_port("127.0.50.1"))
    found.start("127.0.50.1", role="primary")
    found.start("127.0.50.2", role="replica", lag=0.0)
    yield found
    found.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, backends: Backends) -> Path:
    root = tmp_path_factory.mktemp("routing")
    (root / "zones").mkdir()
    (root / "zones" / "r.test.zone").write_text(ZONE)
    (root / "policies").mkdir()
    text = POLICIES.replace("port: PORT, interval: 1s", f"port: {free_port()}, interval: 1s")
    (root / "policies" / "r.test.yaml").write_text(text.replace("PORT", str(backends.port)))
    return root


def answer(server: ResolverProcess, name: str) -> set[str] | str:
    """The A records answered for ``name``, or the rcode's name when it is not NOERROR."""
    reply = server.query(name, "A")
    if reply.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(reply.rcode())
    return {r.to_text() for rrset in reply.answer for r in rrset}


def eventually(check: Callable[[], object], expected: object, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got == expected or time.monotonic() > deadline:
            assert got == expected
            return
        time.sleep(0.05)


def test_member_overrides_change_answers(server: ResolverProcess, api: AdminClient) -> None:
    path = "/api/v1/pools/web.r.test:main/members"
    assert answer(server, "web.r.test.") == {"127.0.0.99"}  # every member down: own values
    assert api.call("PUT", f"{path}/127.0.0.21", {"admin_state": "up"}).status == 200
    assert answer(server, "web.r.test.") == {"127.0.0.21"}  # at once, no waiting
    assert api.call("PUT", f"{path}/127.0.0.22", {"admin_state": "up"}).status == 200
    assert answer(server, "web.r.test.") == {"127.0.0.21", "127.0.0.22"}
    drained = api.call("PUT", f"{path}/127.0.0.21", {"admin_state": "drain"})
    assert drained.body["admin_state"] == "drain" and drained.body["eligible"] is False
    assert answer(server, "web.r.test.") == {"127.0.0.22"}
    view = api.call("GET", "/api/v1/pools/web.r.test:main").body
    member = next(m for m in view["members"] if m["value"] == "127.0.0.21")
    assert member["health"] == "down" and member["last_check"] and member["check"]
    assert api.call("PUT", f"{path}/127.0.0.21", {"admin_state": "auto"}).status == 200
    assert api.call("PUT", f"{path}/127.0.0.22", {"admin_state": "up", "for": 1}).status == 200
    assert answer(server, "web.r.test.") == {"127.0.0.22"}
    eventually(lambda: answer(server, "web.r.test."), {"127.0.0.99"})  # back to auto: down


def test_pushed_roles_change_db_answers_and_expire(server: ResolverProcess,
                                                  api: AdminClient) -> None:
    path = "/api/v1/replicas/db.r.test:writer"
    assert answer(server, "db.r.test.") == "SERVFAIL"  # no primary known: fail closed
    pushed = api.call("PUT", f"{path}/127.0.0.42", {"role": "primary", "ttl": 1.5})
    assert pushed.status == 200 and pushed.body["eligible"] is True
    assert answer(server, "db.r.test.") == {"127.0.0.42"}
    assert api.call("PUT", f"{path}/127.0.0.41", {"role": "primary", "ttl": 30}).status == 200
    assert answer(server, "db.r.test.") == "SERVFAIL"  # two primaries: refuse, fail closed
    replicas = api.call("GET", "/api/v1/replicas").body["pools"]
    writer = next(p for p in replicas if p["id"] == "db.r.test:writer")
    assert all(not m["eligible"] for m in writer["members"])
    assert api.call("PUT", f"{path}/127.0.0.41",
                    {"role": "replica", "lag_seconds": 0.5, "ttl": 600}).status == 200
    assert answer(server, "db.r.test.") == {"127.0.0.42"}
    eventually(lambda: answer(server, "db.r.test."), "SERVFAIL")  # .42's heartbeat expired


def test_pushes_win_over_polling_until_they_expire(server: ResolverProcess,
                                                    api: AdminClient) -> None:
    eventually(lambda: answer(server, "polled.r.test."), {"127.0.50.1"})  # polled primary
    path = "/api/v1/replicas/polled.r.test:pg"
    assert api.call("PUT", f"{path}/127.0.50.1", {"role": "replica", "lag_seconds": 0,
                                                 "ttl": 1.5}).status == 200
    assert api.call("PUT", f"{path}/127.0.50.2", {"role": "primary", "ttl": 1.5}).status == 200
    assert answer(server, "polled.r.test.") == {"127.0.50.2"}
    eventually(lambda: answer(server, "polled.r.test."), {"127.0.50.1"})  # polling again


def test_policy_put_and_delete(server: ResolverProcess, api: AdminClient,
                               folder: Path) -> None:
    record = {"type": "A", "ttl": 5, "values": [{"value": "127.0.0.70"}],
              "dynamic": {"pools": {"p": {"values": [{"value": "127.0.0.71"}]}},
                          "rules": [{"pool": "p"}], "on_all_down": "values"}}
    record["values"] = ["127.0.0.70"]
    put = api.call("PUT", "/api/v1/policies/r.test/api", record)
    assert put.status == 200, put.body
    assert answer(server, "api.r.test.") == {"127.0.0.70"}  # its member is checked: down
    pools = {p["id"]: p for p in api.call("GET", "/api/v1/pools").body["pools"]}
    assert pools["api.r.test:p"]["members"][0]["check"]  # its health check runs already
    document = api.call("GET", "/api/v1/policies/r.test").body
    assert document["records"]["api"]["values"] == ["127.0.0.70"]
    assert "db" in document["records"]
    assert "api:" in (folder / "policies" / "r.test.yaml").read_text()
    bad = api.call("PUT", "/api/v1/policies/r.test/api2",
                   {**record, "dynamic": {**record["dynamic"], "on_all_down": "maybe"}})
    assert bad.status == 422 and bad.body["field"] == "api2"
    assert api.call("DELETE", "/api/v1/policies/r.test/api").status == 200
    assert answer(server, "api.r.test.") == "NXDOMAIN"
    assert "api.r.test:p" not in {p["id"] for p in api.call("GET", "/api/v1/pools").body["pools"]}
    assert api.call("DELETE", "/api/v1/policies/r.test/api").error_field == (404, "name")


def test_explain_matches_the_command_line(server: ResolverProcess, api: AdminClient,
                                          folder: Path) -> None:
    reply = api.call("POST", "/api/v1/explain", {"name": "web.r.test", "type": "A",
                                                 "client": "127.0.0.1",
                                                 "down": ["127.0.0.22"]})
    assert reply.status == 200, reply.body
    cli = subprocess.run(
        [sys.executable, "-m", "resolver", "explain", "web.r.test", "A", "--client",
         "127.0.0.1", "--down", "127.0.0.22", "--zones", str(folder / "zones"), "--policies",
         str(folder / "policies")], capture_output=True, text=True, cwd=REPO, timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    assert cli.returncode == 0, cli.stderr
    lines = cli.stdout.splitlines()
    trace = [line.removeprefix(";;   ") for line in lines[lines.index(";; why:") + 1:]]
    assert reply.body["trace"] == trace
    assert reply.body["answer"] == ["web.r.test. 5 IN A 127.0.0.99"]
    assert "127.0.0.22" in " ".join(trace)


BAD = [
    ("PUT", "/api/v1/pools/nope/members/127.0.0.1", {"admin_state": "up"}, 404, "pool"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.9.9.9", {"admin_state": "up"}, 404,
     "value"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21", {"admin_state": "sleepy"},
     400, "admin_state"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21", {"admin_state": 1}, 400,
     "admin_state"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21",
     {"admin_state": "down", "until": 1}, 400, "until"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21",
     {"admin_state": "down", "until": "tomorrow"}, 400, "until"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21",
     {"admin_state": "down", "for": "-5m"}, 400, "for"),
    ("PUT", "/api/v1/pools/web.r.test:main/members/127.0.0.21",
     {"admin_state": "down", "why": "x"}, 400, "why"),
    ("GET", "/api/v1/pools/nope", None, 404, "pool"),
    ("PUT", "/api/v1/replicas/db.r.test:writer/127.0.0.41", {"role": "leader", "ttl": 5},
     400, "role"),
    ("PUT", "/api/v1/replicas/db.r.test:writer/127.0.0.41", {"role": "primary"}, 400, "ttl"),
    ("PUT", "/api/v1/replicas/db.r.test:writer/127.0.0.41", {"role": "primary", "ttl": 0},
     400, "ttl"),
    ("PUT", "/api/v1/replicas/db.r.test:writer/127.0.0.41",
     {"role": "replica", "ttl": 5, "lag_seconds": -1}, 400, "lag_seconds"),
    ("PUT", "/api/v1/replicas/db.r.test:writer/127.0.0.41",
     {"role": "replica", "ttl": "5"}, 400, "ttl"),
    ("PUT", "/api/v1/replicas/web.r.test:main/127.0.0.21", {"role": "primary", "ttl": 5},
     400, "pool"),
    ("PUT", "/api/v1/replicas/nope/127.0.0.21", {"role": "primary", "ttl": 5}, 404, "pool"),
    ("PUT", "/api/v1/policies/nope.test/x", {"type": "A"}, 404, "zone"),
    ("PUT", "/api/v1/policies/r.test/x", ["not", "a", "record"], 400, None),
    ("GET", "/api/v1/policies/nope.test", None, 404, "zone"),
    ("POST", "/api/v1/explain", {"name": "web.r.test"}, 400, "client"),
    ("POST", "/api/v1/explain", {"name": "web.r.test", "client": "nope"}, 400, "client"),
    ("POST", "/api/v1/explain", {"name": "web.r.test", "client": "127.0.0.1", "down": "x"},
     400, "down"),
    ("POST", "/api/v1/explain", {"name": "web.r.test", "client": "127.0.0.1", "x": 1}, 400,
     "x"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD)
def test_bad_input(server: ResolverProcess, api: AdminClient, method: str, path: str,
                   body: object, status: int, field: str | None) -> None:
    before = api.call("GET", "/api/v1/pools").body
    reply = api.call(method, path, body)
    assert reply.error_field == (status, field), reply.body
    after = api.call("GET", "/api/v1/pools").body
    strip = ("last_check", "since", "rtt_ms", "reason", "health", "eligible", "why",
             "replica_reason")
    for pools in (before, after):
        for pool in pools["pools"]:
            for member in pool["members"]:
                for key in strip:
                    member.pop(key)
    assert before == after  # nothing half applied


def test_metrics_show_pools_checks_and_lag(server: ResolverProcess, api: AdminClient) -> None:
    path = "/api/v1/replicas/polled.r.test:pg/127.0.50.2"
    assert api.call("PUT", path, {"role": "replica", "lag_seconds": 2.5, "ttl": 5}).status == 200
    text = api.call("GET", "/metrics", auth=False).body
    values = {s.name + str(sorted(s.labels.items())): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    assert values["resolver_health_check_duration_seconds_count[]"] > 0
    assert values["resolver_member_health[('health', 'down'), ('member', '127.0.0.21'), "
                  "('pool', 'web.r.test:main')]"] == 1
    assert values["resolver_replica_lag_seconds[('member', '127.0.50.2'), "
                  "('pool', 'polled.r.test:pg'), ('role', 'replica')]"] == 2.5
    assert values["resolver_member_eligible[('member', '127.0.50.1'), "
                  "('pool', 'polled.r.test:pg')]"] == 1
