"""Traffic routing end to end: the real server health-checks real HTTP backends, fake Patroni
and JSON status endpoints on 127.0.30.x, which the tests start, kill and reconfigure.

Timings (failover, recovery, promotion) are measured and printed (run with ``-s`` to see
them); the only timed assertion is the failover bound (interval x fall + 1 s), with slack
for a loaded CPU. Every other wait polls with a generous deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

from tests.support.backends import PORT, Backends
from tests.support.policies import ZONE_TEXT, geo_record, write_mmdb
from tests.support.server import REPO, ResolverProcess

DEADLINE = 20.0
INTERVAL, FALL, RISE = 1.0, 2, 2
MEASURED = Path(os.environ.get("TMPDIR", "/tmp")) / "routing-measurements.json"


def record_measure(key: str, value: float) -> None:
    data = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    data[key] = round(value, 3)
    MEASURED.write_text(json.dumps(data, indent=1))
    print(f"\nMEASURED {key}: {value:.3f}")


@pytest.fixture(scope="module")
def backends() -> Iterator[Backends]:
    b = Backends()
    yield b
    b.close()


def setup_dirs(tmp: Path, policy: str, pools: str = "",
               port: int = PORT) -> tuple[Path, Path]:
    """A zones and a policies folder; policies probe ``port`` (the backends' port)."""
    policy, pools = (text.replace(str(PORT), str(port)) for text in (policy, pools))
    zones, policies = tmp / "zones", tmp / "policies"
    zones.mkdir()
    policies.mkdir()
    (zones / "example.test.zone").write_text(ZONE_TEXT.format(origin="example.test"))
    (policies / "example.test.yaml").write_text(policy)
    if pools:
        (policies / "pools.yaml").write_text(pools)
    return zones, policies


def answer(proc: ResolverProcess, name: str, **kw: object) -> list[str] | str:
    reply = proc.query(f"{name}.example.test", "A", timeout=5.0, **kw)
    if reply.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(reply.rcode())
    return sorted(r.to_text() for rrset in reply.answer for r in rrset) or "NODATA"


def wait_until(probe: Callable[[], object], want: object, deadline: float = DEADLINE,
               step: float = 0.05) -> float:
    """Seconds until ``probe()`` returns ``want``; fails after ``deadline``."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < deadline:
        last = probe()
        if last == want:
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"still {last!r}, wanted {want!r}")


WWW = f"""
www:
  type: A
  ttl: 5
  values: [127.0.0.99]
  dynamic:
    pools:
      main:
        values:
          - {{value: 127.0.30.1, weight: 3}}
          - {{value: 127.0.30.2, weight: 1}}
        fallback: spare
      spare:
        values: [{{value: 127.0.30.3}}]
    rules: [{{pool: main}}]
    on_all_down: values
  octodns:
    healthcheck: {{protocol: HTTP, port: {PORT}, path: /health, host: www.example.test,
                  interval: {INTERVAL}s, timeout: 500ms, rise: {RISE}, fall: {FALL}}}
"""


def test_failover_and_recovery(tmp_path: Path, backends: Backends) -> None:
    for address in ("127.0.30.1", "127.0.30.2", "127.0.30.3"):
        backends.start(address, health=200)
    zones, policies = setup_dirs(tmp_path, WWW, port=backends.port)
    with ResolverProcess(zones, policies=policies) as proc:
        # the first answers already reflect the checks; smooth WRR is exact: 3:1
        shares = Counter(answer(proc, "www")[0] for _ in range(4000))
        assert shares == {"127.0.30.1": 3000, "127.0.30.2": 1000}
        record_measure("server_wrr_share_127.0.30.1_of_4000", shares["127.0.30.1"])
        backends.stop("127.0.30.1")
        backends.stop("127.0.30.2")
        failover = wait_until(lambda: answer(proc, "www"), ["127.0.30.3"])
        record_measure("failover_seconds", failover)
        assert failover <= INTERVAL * FALL + 1.0 + 1.5  # the bound, plus slack for CPU load
        backends.start("127.0.30.2")
        recovery = wait_until(lambda: answer(proc, "www"), ["127.0.30.2"])
        record_measure("recovery_seconds", recovery)
        backends.set("127.0.30.2", health=503)
        backends.set("127.0.30.3", health=503)
        wait_until(lambda: answer(proc, "www"), ["127.0.0.99"])  # on_all_down: values
        log = proc.log()
        assert f"health http://127.0.30.1:{backends.port}/health is down: refused" in log
        assert "is down: status 503" in log
    backends.set("127.0.30.3", health=200)
    out = run_cli("explain", "www.example.test", "--client", "127.0.0.1", "--zones", zones,
                  "--policies", policies)
    assert "skip 127.0.30.1 weight 3: refused" in out and "fallback to pool " in out
    assert "127.0.30.3" in out.split(";; why:")[0]
    out = run_cli("explain", "www.example.test", "--client", "127.0.0.1", "--zones", zones,
                  "--policies", policies, "--down", "127.0.30.3")
    assert "what-if: down" in out and "on_all_down values" in out


DB = f"""
db:
  type: A
  ttl: 5
  values: [127.0.30.41]
  dynamic:
    pools:
      writer:
        values: [{{value: 127.0.30.41}}, {{value: 127.0.30.42}}, {{value: 127.0.30.43}}]
        replication: {{role: primary, source: json, port: {PORT}, path: /status,
                       interval: {INTERVAL}s, timeout: 500ms}}
    rules: [{{pool: writer}}]
db-ro:
  type: A
  ttl: 5
  values: [127.0.30.41]
  dynamic:
    pools:
      readers:
        mode: all
        values: [{{value: 127.0.30.41}}, {{value: 127.0.30.42}}, {{value: 127.0.30.43}}]
        replication: {{role: replica, source: json, port: {PORT}, path: /status,
                       interval: {INTERVAL}s, timeout: 500ms, max_lag: 5s, resume_lag: 3s}}
        fallback: primary
    rules: [{{pool: readers}}]
"""
SHARED = f"""
primary:
  values: [{{value: 127.0.30.41}}, {{value: 127.0.30.42}}, {{value: 127.0.30.43}}]
  replication: {{role: primary, source: json, port: {PORT}, path: /status,
                 interval: {INTERVAL}s, timeout: 500ms}}
"""


def test_replica_aware_json_status(tmp_path: Path, backends: Backends) -> None:
    backends.start("127.0.30.41", role="primary", lag=0.0)
    backends.start("127.0.30.42", role="replica", lag=0.5)
    backends.start("127.0.30.43", role="replica", lag=1.0)
    zones, policies = setup_dirs(tmp_path, DB, SHARED, port=backends.port)
    with ResolverProcess(zones, policies=policies) as proc:
        assert answer(proc, "db") == ["127.0.30.41"]
        assert answer(proc, "db-ro") == ["127.0.30.42", "127.0.30.43"]
        # promotion: .42 becomes the primary, .41 a replica
        backends.set("127.0.30.41", role="replica", lag=0.0)
        backends.set("127.0.30.42", role="primary", lag=0.0)
        promotion = wait_until(lambda: answer(proc, "db"), ["127.0.30.42"])
        record_measure("promotion_seconds", promotion)
        wait_until(lambda: answer(proc, "db-ro"), ["127.0.30.41", "127.0.30.43"])
        # a replica over max_lag leaves; it comes back only under resume_lag
        backends.set("127.0.30.43", lag=12.0)
        wait_until(lambda: answer(proc, "db-ro"), ["127.0.30.41"])
        backends.set("127.0.30.43", lag=4.0)
        time.sleep(INTERVAL * 2.5)
        assert answer(proc, "db-ro") == ["127.0.30.41"]  # 4 s is under 5 s but not under 3 s
        # every replica lagging: fall back to the primary (shared pool)
        backends.set("127.0.30.41", lag=30.0)
        wait_until(lambda: answer(proc, "db-ro"), ["127.0.30.42"])
        # two primaries: fail closed, never two writers
        backends.set("127.0.30.43", role="primary")
        wait_until(lambda: answer(proc, "db"), "SERVFAIL")
        assert "lag 12 s > 5 s" in proc.log()


PATRONI = f"""
pg:
  type: A
  ttl: 5
  values: [127.0.30.51]
  dynamic:
    pools:
      writer:
        values: [{{value: 127.0.30.51}}, {{value: 127.0.30.52}}]
        replication: {{role: primary, source: patroni, port: {PORT}, interval: {INTERVAL}s,
                       timeout: 500ms}}
    rules: [{{pool: writer}}]
pg-ro:
  type: A
  ttl: 5
  values: [127.0.30.51]
  dynamic:
    pools:
      readers:
        values: [{{value: 127.0.30.51}}, {{value: 127.0.30.52}}]
        replication: {{role: replica, source: patroni, port: {PORT}, interval: {INTERVAL}s,
                       timeout: 500ms, max_lag: 10s}}
        fallback: writer
      writer:
        values: [{{value: 127.0.30.51}}, {{value: 127.0.30.52}}]
        replication: {{role: primary, source: patroni, port: {PORT}, interval: {INTERVAL}s,
                       timeout: 500ms}}
    rules: [{{pool: readers}}]
"""


def test_patroni_roles_and_lag(tmp_path: Path, backends: Backends) -> None:
    now = time.time()
    backends.start("127.0.30.51", role="master", location=1000)
    backends.start("127.0.30.52", role="replica", replayed=1000, replayed_at=now - 60)
    zones, policies = setup_dirs(tmp_path, PATRONI, port=backends.port)
    with ResolverProcess(zones, policies=policies) as proc:
        assert answer(proc, "pg") == ["127.0.30.51"]
        assert answer(proc, "pg-ro") == ["127.0.30.52"]  # caught up: lag 0
        # the primary moves on; the replica's last replay is 60 s old: over max_lag
        backends.set("127.0.30.51", location=9000)
        wait_until(lambda: answer(proc, "pg-ro"), ["127.0.30.51"])
        # failover in Patroni: the replica is promoted, the old primary is gone
        backends.stop("127.0.30.51")
        backends.set("127.0.30.52", role="master", location=9500)
        promotion = wait_until(lambda: answer(proc, "pg"), ["127.0.30.52"])
        record_measure("patroni_promotion_seconds", promotion)


GEO = """
www:
  type: A
  ttl: 30
  values: [127.0.0.99]
  dynamic:
    pools:
      eu: {values: [{value: 127.0.30.61, status: up}]}
      ca: {values: [{value: 127.0.30.62, status: up}]}
      lan: {values: [{value: 127.0.30.64, status: up}]}
      rest: {values: [{value: 127.0.30.63, status: up}]}
    rules:
      - geos: [EU]
        pool: eu
      - geos: [NA-US-CA]
        pool: ca
      - subnets: [10.9.0.0/16]
        pool: lan
      - pool: rest
"""


def ecs_query(proc: ResolverProcess, subnet: str, prefix: int) -> tuple[list[str], int | None]:
    option = dns.edns.ECSOption(subnet, prefix)
    reply = proc.query("www.example.test", "A", use_edns=0, options=[option], timeout=5.0)
    scopes = [o.scopelen for o in reply.options if isinstance(o, dns.edns.ECSOption)]
    return sorted(r.to_text() for r in reply.answer[0]), scopes[0] if scopes else None


def test_geo_rules_with_ecs_and_a_maxmind_database(tmp_path: Path) -> None:
    mmdb = write_mmdb(tmp_path / "geo.mmdb", {
        "192.0.2.0/24": geo_record("EU", "FR"),
        "198.51.100.0/25": geo_record("NA", "US", "CA"),
        "198.51.100.128/25": geo_record("NA", "US", "NY"),
    })
    zones, policies = setup_dirs(tmp_path, GEO)
    with ResolverProcess(zones, "--geoip-db", str(mmdb), policies=policies) as proc:
        assert ecs_query(proc, "192.0.2.0", 24) == (["127.0.30.61"], 24)
        assert ecs_query(proc, "198.51.100.0", 25) == (["127.0.30.62"], 25)
        assert ecs_query(proc, "198.51.100.0", 24) == (["127.0.30.62"], 24)  # capped
        assert ecs_query(proc, "198.51.100.128", 25) == (["127.0.30.63"], 25)
        assert ecs_query(proc, "10.9.4.0", 24) == (["127.0.30.64"], 16)
        assert ecs_query(proc, "10.9.4.0", 12) == (["127.0.30.63"], 12)  # never past source
        assert answer(proc, "www") == ["127.0.30.63"]  # 127.0.0.1, no ECS
    out = run_cli("explain", "www.example.test", "--client", "127.0.0.1", "--ecs",
                  "198.51.100.0/25", "--zones", zones, "--policies", policies,
                  "--geoip-db", mmdb)
    assert "geo NA-US-CA matches NA-US-CA (network /25)" in out and "ECS scope 25" in out


def test_bad_edit_keeps_last_good_and_removal_stops_checks(tmp_path: Path,
                                                            backends: Backends) -> None:
    backends.start("127.0.30.71", health=200)
    backends.start("127.0.30.72", health=200)
    policy = WWW.replace("127.0.30.1", "127.0.30.71").replace("127.0.30.2", "127.0.30.72")
    zones, policies = setup_dirs(tmp_path, policy, port=backends.port)
    path = policies / "example.test.yaml"
    with ResolverProcess(zones, policies=policies) as proc:
        assert answer(proc, "www") in (["127.0.30.71"], ["127.0.30.72"])
        path.write_text(policy.replace("weight: 3}", "weight: 3, colour: red}"))
        wait_until(lambda: "unknown key 'colour'" in proc.log(), True)
        assert f"{path}:10: unknown key 'colour'" in proc.log()
        assert answer(proc, "www") in (["127.0.30.71"], ["127.0.30.72"])
        path.write_text(policy.replace("127.0.30.72, weight: 1", "127.0.30.72, weight: 0")
                        .replace("127.0.30.71, weight: 3", "127.0.30.71, weight: 0, "
                                 "status: down"))
        wait_until(lambda: answer(proc, "www"), ["127.0.30.72"])
        path.unlink()
        wait_until(lambda: answer(proc, "www"), "NODATA")
        stopped = f"health check stopped: http://127.0.30.72:{backends.port}/health"
        wait_until(lambda: stopped in proc.log(), True)
        assert "Traceback" not in proc.log()


def test_invalid_policy_fails_startup_and_check(tmp_path: Path) -> None:
    bad = "www:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools:\n" \
          "      a: {values: [{value: 127.0.0.2}], fallback: b}\n" \
          "      b: {values: [{value: 127.0.0.3}], fallback: a}\n" \
          "    rules:\n      - subnets: [10.0.0.0/33]\n        pool: a\n      - pool: c\n"
    zones, policies = setup_dirs(tmp_path, bad)
    result = subprocess.run(
        [sys.executable, "-m", "resolver", "check", "--zones", str(zones), "--policies",
         str(policies)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    file = f"{policies}/example.test.yaml"
    assert f"{file}:6: fallback loop: www.example.test:a -> www.example.test:b -> " \
           "www.example.test:a" in lines
    assert any(line.startswith(f"{file}:9: bad subnet") for line in lines)
    assert f"{file}:11: rule 2 uses unknown pool 'c'" in lines
    with pytest.raises(RuntimeError, match="invalid policy files"):
        ResolverProcess(zones, policies=policies)


def run_cli(*args: object) -> str:
    result = subprocess.run([sys.executable, "-m", "resolver", *map(str, args)],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_example_policies_serve_out_of_the_box() -> None:
    """``resolver serve`` from the repo with no backend running: www falls back to its own
    values, db fails closed, the static data is untouched."""
    with ResolverProcess(REPO / "zones", policies=REPO / "policies") as proc:
        assert answer(proc, "www") == ["127.0.0.80"]
        assert answer(proc, "db") == "SERVFAIL"
        reply = proc.query("www.example.test", "AAAA")
        assert [r.to_text() for r in reply.answer[0]] == ["2001:db8::80"]
