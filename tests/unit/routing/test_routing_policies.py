"""Policy files -> specs: octoDNS records load as-is; every problem is reported with file:line."""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdatatype
import pytest

from resolver.config import policies as pol
from resolver.routing.spec import PolicySet
from tests.support.policies import policies_from, zone_data

REPO = Path(__file__).resolve().parents[3]

OCTODNS = """
# A record exactly as octoDNS's docs write one (dynamic_records.rst), provider keys included.
www:
  type: A
  ttl: 60
  values: [1.1.1.1, 2.2.2.2]
  dynamic:
    pools:
      apac:
        values:
          - value: 1.1.1.1
          - value: 2.2.2.2
      eu:
        fallback: na
        values:
          - value: 3.3.3.3
            weight: 10
          - value: 4.4.4.4
            weight: 5
            status: down
      na:
        values:
          - value: 5.5.5.5
            status: up
    rules:
      - geos: [AS, OC]
        pool: apac
      - geos: [EU, NA-CA-NL]
        pool: eu
      - subnets: [10.1.0.0/16]
        pool: eu
      - pool: na
  octodns:
    healthcheck:
      host: my-host-name
      path: /dns-health-check
      port: 443
      protocol: HTTPS
    route53:
      healthcheck:
        measure_latency: false
"""


@pytest.fixture
def zones(tmp_path: Path):
    return zone_data(tmp_path)


def test_octodns_record_loads_as_is(zones) -> None:
    policies, problems = policies_from(OCTODNS, zones)
    assert problems == []
    www = policies.records[(dns.name.from_text("www.example.test"), dns.rdatatype.A)]
    assert www.ttl == 60 and www.values == ("1.1.1.1", "2.2.2.2")
    assert www.on_all_down == "values"
    eu = www.pools["www.example.test:eu"]
    assert eu.fallback == "www.example.test:na"
    assert [(m.value, m.weight, m.status) for m in eu.members] == [
        ("3.3.3.3", 10, "obey"), ("4.4.4.4", 5, "down")]
    assert eu.healthcheck is not None and eu.healthcheck.protocol == "HTTPS"
    assert eu.healthcheck.host == "my-host-name" and eu.healthcheck.path == "/dns-health-check"
    assert [r.geos for r in www.rules] == [("AS", "OC"), ("EU", "NA-CA-NL"), (), ()]
    assert www.rules[2].subnets == ("10.1.0.0/16",) and www.rules[3].catch_all


def test_octodns_default_healthcheck(zones) -> None:
    text = "api:\n  type: A\n  values: [127.0.0.9]\n  dynamic:\n    pools:\n      p:\n" \
           "        values: [{value: 127.0.0.10}]\n    rules: [{pool: p}]\n"
    policies, problems = policies_from(text, zones)
    assert problems == []
    check = next(iter(policies.pools().values())).healthcheck
    assert (check.protocol, check.port, check.path, check.host) == (
        "HTTPS", 443, "/_dns", "api.example.test")
    record = next(iter(policies.records.values()))
    assert record.ttl == 3600  # octoDNS's default TTL


def test_example_policies_in_repo_are_valid() -> None:
    from resolver.authority.catalog import load_zone_file

    data = load_zone_file(REPO / "zones" / "example.test.zone").data
    assert data is not None
    policies, problems = pol.load_directory(REPO / "policies", {data.origin: data})
    assert problems == []
    names = {name.to_text() for name, _ in policies.records}
    assert {"www.example.test.", "db.example.test.", "db-ro.example.test."} <= names
    assert "pg-primary" in policies.shared


BAD = """
www:
  type: A
  values: [127.0.0.1]
  colour: blue
  dynamic:
    pools:
      a:
        values:
          - {value: 127.0.0.2, weight: 300}
          - {value: not-an-ip}
        fallback: b
        speed: 3
      b:
        values: [{value: 127.0.0.3}]
        fallback: a
    rules:
      - subnets: [10.0.0.0/33]
        pool: nowhere
      - geos: [XX]
        pool: a
      - pool: b
static:
  type: A
  values: [127.0.0.4]
deep.sub:
  type: A
  values: [127.0.0.5]
mx:
  type: MX
  values: [10 mail]
"""


def test_every_problem_has_file_and_line(zones) -> None:
    _, problems = policies_from(BAD, zones)
    found = {(p.line, p.message.split(":")[0].split(" '")[0]) for p in problems}
    text = "\n".join(str(p) for p in problems)
    assert all(str(p).startswith("policies/example.test.yaml:") for p in problems), text
    expect = {
        (5, "unknown key"),              # colour
        (10, "'weight' must be an integer from 0 to 255"),
        (11, "'not-an-ip' is not an IP address"),
        (13, "unknown key"),             # speed
        (18, "bad subnet"),
        (18, "rule 1 uses unknown pool"),
        (20, "'XX' is not a geo code (EU, EU-FR, NA-US-CA)"),
        (23, "static.example.test A clashes with static A data at "),
        (26, "deep.sub.example.test is below the delegation at sub.example.test."),
        (29, "record"),                  # MX cannot be routed
    }
    for line, start in expect:
        assert any(p.line == line and p.message.startswith(start) for p in problems), \
            (line, start, text)
    loops = [p for p in problems if "fallback loop" in p.message]
    assert [p.line for p in loops] == [9], text
    assert not any("catch-all" in p.message for p in problems), text
    assert found  # every problem parsed


def test_policy_name_needs_a_served_zone(tmp_path: Path) -> None:
    zones = zone_data(tmp_path, "other.test")
    _, problems = policies_from("www:\n  type: A\n  values: [127.0.0.1]\n", zones)
    assert [p.message for p in problems] == [
        "zone example.test. is not served here (no zones/example.test.zone)"]


def test_yaml_syntax_error_has_line(zones) -> None:
    _, problems = policies_from("www:\n  type: A\n  values: [127.0.0.1\n", zones)
    assert len(problems) == 1 and problems[0].line >= 3 and "invalid YAML" in problems[0].message


def test_duplicate_names_are_reported(zones) -> None:
    text = "a:\n  type: A\n  values: [127.0.0.1]\na:\n  type: A\n  values: [127.0.0.2]\n"
    _, problems = policies_from(text, zones)
    assert any(p.line == 4 and "duplicate name" in p.message for p in problems)


def test_shared_pools_and_their_references(zones) -> None:
    shared = "web:\n  values: [{value: 127.0.0.7}]\n  fallback: spare\n" \
             "spare:\n  values: [{value: 127.0.0.8}]\n"
    text = "www:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools: {}\n" \
           "    rules: [{pool: web}]\n"
    policies, problems = policies_from(text, zones, shared)
    assert problems == []  # every rule names shared pools
    assert set(next(iter(policies.records.values())).pools) == {"web", "spare"}
    text = "www:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools:\n" \
           "      own: {values: [{value: 127.0.0.2}], fallback: web}\n    rules: [{pool: own}]\n"
    policies, problems = policies_from(text, zones, shared)
    assert problems == []
    record = next(iter(policies.records.values()))
    assert set(record.pools) == {"www.example.test:own", "web", "spare"}


def test_catch_all_must_be_last(zones) -> None:
    text = "www:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools:\n" \
           "      a: {values: [{value: 127.0.0.2}]}\n" \
           "    rules:\n      - pool: a\n      - geos: [EU]\n        pool: a\n"
    _, problems = policies_from(text, zones)
    assert [p.line for p in problems] == [8] and "catch-all goes last" in problems[0].message


def test_primary_pools_fail_closed_by_default(zones) -> None:
    text = "db:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools:\n" \
           "      w:\n        values: [{value: 127.0.0.2}]\n" \
           "        replication: {role: primary, max_lag: 3s}\n    rules: [{pool: w}]\n"
    policies, problems = policies_from(text, zones)
    assert problems == []
    record = next(iter(policies.records.values()))
    assert record.on_all_down == "servfail"
    repl = record.pools["db.example.test:w"].replication
    assert repl is not None and repl.max_lag == 3.0 and repl.resume_lag == pytest.approx(2.4)
    assert record.pools["db.example.test:w"].healthcheck is None  # the poll is the check


def test_durations(zones) -> None:
    text = "www:\n  type: A\n  values: [127.0.0.1]\n  dynamic:\n    pools:\n" \
           "      a: {values: [{value: 127.0.0.2}]}\n    rules: [{pool: a}]\n" \
           "  octodns:\n    healthcheck: {protocol: TCP, port: 5432, interval: 500ms, " \
           "timeout: 200ms}\n"
    policies, problems = policies_from(text, zones)
    assert problems == []
    check = next(iter(policies.pools().values())).healthcheck
    assert (check.protocol, check.port, check.timing.interval, check.timing.timeout) == (
        "TCP", 5432, 0.5, 0.2)


def test_policy_api_validate_put_delete(tmp_path: Path, zones) -> None:
    record = {"type": "A", "ttl": 20, "values": ["127.0.0.1"],
              "dynamic": {"pools": {"a": {"values": [{"value": "127.0.0.2", "weight": 2}]}},
                          "rules": [{"pool": "a"}]}}
    spec, problems = pol.validate_record("example.test", "api", record, shared={}, zones=zones)
    assert problems == [] and spec is not None and spec.fqdn == "api.example.test"
    bad = {**record, "ttl": -1}
    spec, problems = pol.validate_record("example.test", "api", bad, shared={}, zones=zones)
    assert spec is None and "'ttl' must be an integer" in problems[0].message
    assert pol.put_record(tmp_path, "example.test", "api", bad, shared={}, zones=zones)
    assert not (tmp_path / "example.test.yaml").exists()  # nothing half-written
    assert pol.put_record(tmp_path, "example.test", "api", record, shared={}, zones=zones) == []
    loaded, problems = pol.load_directory(tmp_path, zones)
    assert problems == [] and isinstance(loaded, PolicySet) and len(loaded.records) == 1
    assert pol.delete_record(tmp_path, "example.test", "api")
    assert not pol.delete_record(tmp_path, "example.test", "api")
    assert not (tmp_path / "example.test.yaml").exists()


def test_last_good_file_is_kept(tmp_path: Path, zones) -> None:
    good = "www:\n  type: A\n  values: [127.0.0.1]\n"
    path = tmp_path / "example.test.yaml"
    path.write_text(good)
    files, problems = pol.load_files(pol.scan(tmp_path), zones, {})
    assert problems == []
    path.write_text("www:\n  type: A\n  values: [nope]\n")
    again, problems = pol.load_files(pol.scan(tmp_path), zones, files)
    assert problems and again[str(path)] is files[str(path)]
