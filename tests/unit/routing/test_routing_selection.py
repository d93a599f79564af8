"""Selection logic as truth tables: no sockets, a fixed clock, a seeded random source."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from types import MappingProxyType

import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from resolver.authority.zone import Dynamic
from resolver.health.model import HealthSnapshot, Override, ReplicaState, TargetState
from resolver.health.targets import health_target
from resolver.model import Client, ClientSubnet, Query
from resolver.routing.geomap import GeoInfo
from resolver.routing.router import Router
from resolver.routing.spec import Member, PolicySet
from resolver.routing.weighted import SmoothWRR
from tests.support.policies import policies_from, zone_data

NOW = 1_000_000.0
CHECK = "  octodns:\n    healthcheck: {protocol: TCP, port: 80}\n"


def record(pools: str, rules: str, extra: str = "", name: str = "www",
           values: str = "[127.0.0.99]") -> str:
    return (f"{name}:\n  type: A\n  ttl: 30\n  values: {values}\n  dynamic:\n    pools:\n"
            f"{pools}    rules:\n{rules}{extra}{CHECK}")


@pytest.fixture
def zones(tmp_path: Path):
    return zone_data(tmp_path)


def load(text: str, zones) -> PolicySet:
    policies, problems = policies_from(text, zones)
    assert problems == [], problems
    return policies


def snapshot(policies: PolicySet, down: set[str] = frozenset(), replicas=None,
             overrides=None, rtt: dict[str, float] | None = None) -> HealthSnapshot:
    targets = {}
    for pool in policies.pools().values():
        for member in pool.members:
            target = health_target(pool, member)
            if target is not None:
                up = member.value not in down
                targets[target] = TargetState(up, "ok" if up else "refused", NOW,
                                              rtt=(rtt or {}).get(member.value))
    return HealthSnapshot(1, MappingProxyType(targets), MappingProxyType(replicas or {}),
                          MappingProxyType(overrides or {}))


def ask(router: Router, name: str = "www", client: str = "127.0.0.1",
        ecs: tuple[str, int] | None = None):
    qname = dns.name.from_text(f"{name}.example.test")
    subnet = ClientSubnet(1, ecs[0], ecs[1]) if ecs else None
    query = Query(1, qname, dns.rdatatype.A, 1, 0, False, False, None,
                  Client(client, 5353, "udp", subnet))
    return router.select(Dynamic(qname, dns.rdatatype.A, 30), query)


def values(routed) -> list[str] | str:
    if routed.rcode != dns.rcode.NOERROR:
        return dns.rcode.to_text(routed.rcode)
    return "NODATA" if routed.rrset is None else sorted(r.to_text() for r in routed.rrset)


def router_for(policies: PolicySet, snap: HealthSnapshot, geo=None, **kw) -> Router:
    return Router(policies, lambda: snap, geo, clock=lambda: NOW, rng=random.Random(7), **kw)


# -- weighted round robin ---------------------------------------------------------------------
@pytest.mark.parametrize("weights", [(3, 1), (5, 3, 2), (1, 1, 1, 1), (7, 0, 2), (255, 1)])
def test_smooth_wrr_is_exact_over_any_window(weights: tuple[int, ...]) -> None:
    members = [Member(f"127.0.0.{i + 1}", w) for i, w in enumerate(weights) if w > 0]
    wrr = SmoothWRR()
    picks = [wrr.pick("p", members).value for _ in range(10_000)]
    total = sum(m.weight for m in members)
    for start in (0, 1, total // 2, 9_000):
        window = Counter(picks[start: start + total])
        assert {m.value: window[m.value] for m in members} == {m.value: m.weight
                                                                for m in members}
    shares = Counter(picks)
    runs = 10_000 // total
    for m in members:
        assert runs * m.weight <= shares[m.value] <= (runs + 1) * m.weight


def test_wrr_shares_through_the_router(zones) -> None:
    pools = "      p:\n        values:\n          - {value: 127.0.0.21, weight: 3}\n" \
            "          - {value: 127.0.0.22, weight: 1}\n"
    policies = load(record(pools, "      - pool: p\n"), zones)
    router = router_for(policies, snapshot(policies))
    shares = Counter(values(ask(router))[0] for _ in range(10_000))
    assert shares == {"127.0.0.21": 7_500, "127.0.0.22": 2_500}


# (weights, members down) -> the values that get answers
STANDBY_TABLE = [
    ((1, 0), set(), {"127.0.0.1"}),
    ((1, 0), {"127.0.0.1"}, {"127.0.0.2"}),
    ((2, 0, 0), {"127.0.0.1"}, {"127.0.0.2", "127.0.0.3"}),
    ((2, 1, 0), {"127.0.0.1"}, {"127.0.0.2"}),
    ((1, 0), {"127.0.0.1", "127.0.0.2"}, {"127.0.0.99"}),  # on_all_down: values
]


@pytest.mark.parametrize(("weights", "down", "expect"), STANDBY_TABLE)
def test_weight_zero_is_a_standby(zones, weights, down, expect) -> None:
    items = "".join(f"          - {{value: 127.0.0.{i + 1}, weight: {w}}}\n"
                    for i, w in enumerate(weights))
    policies = load(record(f"      p:\n        values:\n{items}", "      - pool: p\n"), zones)
    router = router_for(policies, snapshot(policies, down))
    seen = {v for _ in range(20) for v in values(ask(router))}
    assert seen == expect


# -- member state: what-if > admin > status > health --------------------------------------------
# (status in file, admin override, health up, what-if down) -> eligible
MEMBER_TABLE = [
    ("obey", None, True, False, True),
    ("obey", None, False, False, False),
    ("up", None, False, False, True),
    ("down", None, True, False, False),
    ("obey", "down", True, False, False),
    ("obey", "drain", True, False, False),
    ("obey", "up", False, False, True),
    ("down", "up", True, False, True),
    ("obey", "expired-down", True, False, True),
    ("up", "up", True, True, False),
]


@pytest.mark.parametrize(("status", "admin", "healthy", "whatif", "eligible"), MEMBER_TABLE)
def test_member_state_truth_table(zones, status, admin, healthy, whatif, eligible) -> None:
    pools = f"      p:\n        values:\n          - {{value: 127.0.0.5, status: {status}}}\n"
    policies = load(record(pools, "      - pool: p\n", "    on_all_down: nodata\n"), zones)
    overrides = {}
    if admin == "expired-down":
        overrides[("www.example.test:p", "127.0.0.5")] = Override("down", NOW - 1)
    elif admin:
        overrides[("www.example.test:p", "127.0.0.5")] = Override(admin, NOW + 60)
    snap = snapshot(policies, set() if healthy else {"127.0.0.5"}, overrides=overrides)
    router = router_for(policies, snap, down=frozenset({"127.0.0.5"} if whatif else ()))
    assert values(ask(router)) == (["127.0.0.5"] if eligible else "NODATA")


# -- modes, fallback, on_all_down -------------------------------------------------------------
def test_mode_all_caps_answers(zones) -> None:
    items = "".join(f"          - {{value: 127.0.0.{i}}}\n" for i in range(1, 6))
    pools = f"      p:\n        mode: all\n        max_answers: 3\n        values:\n{items}"
    policies = load(record(pools, "      - pool: p\n"), zones)
    router = router_for(policies, snapshot(policies, {"127.0.0.2"}))
    assert values(ask(router)) == ["127.0.0.1", "127.0.0.3", "127.0.0.4"]


def test_mode_latency_picks_lowest_rtt(zones) -> None:
    pools = "      p:\n        mode: latency\n        values: [{value: 127.0.0.1}, " \
            "{value: 127.0.0.2}, {value: 127.0.0.3}]\n"
    policies = load(record(pools, "      - pool: p\n"), zones)
    rtt = {"127.0.0.1": 0.030, "127.0.0.2": 0.004, "127.0.0.3": 0.010}
    assert values(ask(router_for(policies, snapshot(policies, rtt=rtt)))) == ["127.0.0.2"]
    snap = snapshot(policies, {"127.0.0.2"}, rtt=rtt)
    assert values(ask(router_for(policies, snap))) == ["127.0.0.3"]


FALLBACK_POOLS = (
    "      a:\n        values: [{value: 127.0.0.1}]\n        fallback: b\n"
    "      b:\n        values: [{value: 127.0.0.2}]\n        fallback: c\n"
    "      c:\n        values: [{value: 127.0.0.3}, {value: 127.0.0.4}]\n        mode: all\n"
)
# (down, on_all_down) -> answer
FAILOVER_TABLE = [
    (set(), "values", ["127.0.0.1"]),
    ({"127.0.0.1"}, "values", ["127.0.0.2"]),
    ({"127.0.0.1", "127.0.0.2"}, "values", ["127.0.0.3", "127.0.0.4"]),
    ({"127.0.0.1", "127.0.0.2", "127.0.0.3"}, "values", ["127.0.0.4"]),
    ({"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, "values", ["127.0.0.99"]),
    ({"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, "all", ["127.0.0.1"]),
    ({"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, "nodata", "NODATA"),
    ({"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, "servfail", "SERVFAIL"),
]


@pytest.mark.parametrize(("down", "on_all_down", "expect"), FAILOVER_TABLE)
def test_fallback_chain_and_on_all_down(zones, down, on_all_down, expect) -> None:
    policies = load(record(FALLBACK_POOLS, "      - pool: a\n",
                           f"    on_all_down: {on_all_down}\n"), zones)
    router = router_for(policies, snapshot(policies, down), tracing=True)
    routed = ask(router)
    assert values(routed) == expect
    if expect in ("NODATA", "SERVFAIL") or expect == ["127.0.0.99"]:
        assert any(f"on_all_down {on_all_down}" in line for line in routed.trace)


# -- replica-aware pools --------------------------------------------------------------------------
DB_POOLS = (
    "      w:\n        values: [{value: 127.0.0.41}, {value: 127.0.0.42}, {value: 127.0.0.43}]\n"
    "        replication: {role: primary, source: push}\n"
    "      r:\n        mode: all\n"
    "        values: [{value: 127.0.0.41}, {value: 127.0.0.42}, {value: 127.0.0.43}]\n"
    "        replication: {role: replica, source: push, max_lag: 5s}\n        fallback: w\n"
)


def replica_states(pool: str, roles: dict[str, tuple[str | None, float, bool]],
                   name: str = "db"):
    return {(f"{name}.example.test:{pool}", value): ReplicaState(role, lag, ok, "test", NOW, NOW,
                                                             "push", NOW + 30)
            for value, (role, lag, ok) in roles.items()}


P, R = "primary", "replica"
# roles of .41 .42 .43 -> (db answer, db-ro answer)
REPLICA_TABLE = [
    ((P, R, R), ["127.0.0.41"], ["127.0.0.42", "127.0.0.43"]),
    ((R, P, R), ["127.0.0.42"], ["127.0.0.41", "127.0.0.43"]),  # promotion
    ((P, P, R), "SERVFAIL", ["127.0.0.43"]),  # two primaries: never answer a writer
    ((R, R, R), "SERVFAIL", ["127.0.0.41", "127.0.0.42", "127.0.0.43"]),
    ((None, P, None), ["127.0.0.42"], ["127.0.0.42"]),  # no replicas: fall back to primary
    ((P, "lag", "lag"), ["127.0.0.41"], ["127.0.0.41"]),  # all replicas lagging
]


@pytest.mark.parametrize(("roles", "db", "ro"), REPLICA_TABLE)
def test_replica_truth_table(zones, roles, db, ro) -> None:
    text = record(DB_POOLS, "      - pool: w\n", name="db") + \
        record(DB_POOLS, "      - pool: r\n", name="ro")
    policies = load(text, zones)
    members = ("127.0.0.41", "127.0.0.42", "127.0.0.43")
    state = {}
    for value, role in zip(members, roles, strict=True):
        state[value] = (R, 12.0, False) if role == "lag" else (role, 0.0, role == R)
    replicas = {}
    for name in ("db", "ro"):
        for pool in ("w", "r"):
            replicas.update(replica_states(pool, state, name))
    router = router_for(policies, snapshot(policies, replicas=replicas))
    assert values(ask(router, "db")) == db
    assert values(ask(router, "ro")) == ro


def test_expired_push_is_unknown(zones) -> None:
    policies = load(record(DB_POOLS, "      - pool: w\n", name="db"), zones)
    replicas = replica_states("w", {"127.0.0.41": (P, 0.0, False)})
    replicas = {k: ReplicaState(v.role, v.lag, v.lag_ok, v.reason, v.since, v.updated, "push",
                                NOW - 1) for k, v in replicas.items()}
    router = router_for(policies, snapshot(policies, replicas=replicas), tracing=True)
    routed = ask(router, "db")
    assert values(routed) == "SERVFAIL"
    assert any("pushed status expired" in line for line in routed.trace)


# -- rules: subnets, geos, ECS scope ---------------------------------------------------------------
class FakeGeo:
    def __init__(self, table: dict[str, GeoInfo]) -> None:
        self.table = table

    def lookup(self, ip) -> GeoInfo:
        return self.table.get(str(ip), GeoInfo(None, None, None, 8))


GEO_POOLS = "".join(f"      {n}:\n        values: [{{value: 127.0.0.{i}}}]\n"
                    for i, n in enumerate(("eu", "fr", "ca", "us", "lan", "any"), start=1))
GEO_RULES = (
    "      - geos: [EU]\n        pool: eu\n"
    "      - geos: [EU-FR, NA-US-CA]\n        pool: fr\n"
    "      - geos: [NA-US-CA]\n        pool: ca\n"
    "      - geos: [NA-US]\n        pool: us\n"
    "      - subnets: [10.0.0.0/8, 10.1.0.0/16]\n        pool: lan\n"
    "      - pool: any\n"
)
GEO = {
    "192.0.2.1": GeoInfo("EU", "DE", None, 24),
    "192.0.2.2": GeoInfo("EU", "FR", "IDF", 20),
    "198.51.100.1": GeoInfo("NA", "US", "CA", 22),
    "198.51.100.2": GeoInfo("NA", "US", "NY", 22),
    "10.1.2.3": GeoInfo("EU", "FR", None, 16),
}
# client -> (answer, ECS scope with a /24 source)
GEO_TABLE = [
    ("192.0.2.1", "127.0.0.1", 24),     # continent
    ("192.0.2.2", "127.0.0.2", 20),     # country beats continent
    ("198.51.100.1", "127.0.0.2", 22),  # subdivision, first rule naming it wins
    ("198.51.100.2", "127.0.0.4", 22),  # country
    ("10.1.2.3", "127.0.0.5", 16),      # a subnet beats any geo
    ("203.0.113.9", "127.0.0.6", 8),    # catch-all; scope from the geo network
]


@pytest.mark.parametrize(("client", "answer", "scope"), GEO_TABLE)
def test_geo_and_subnet_rules(zones, client, answer, scope) -> None:
    policies = load(record(GEO_POOLS, GEO_RULES), zones)
    router = router_for(policies, snapshot(policies), FakeGeo(GEO))
    assert values(ask(router, client=client)) == [answer]
    routed = ask(router, client="127.0.0.1", ecs=(client, 24))
    assert values(routed) == [answer] and routed.ecs_scope == min(scope, 24)


# (ECS subnet, answer, scope) with rules on 10.9.0.0/16 and 10.9.8.0/22 only
SCOPE_TABLE = [
    (("10.9.8.0", 24), "127.0.0.2", 22),   # inside the /22: its prefix decides
    (("10.9.1.0", 24), "127.0.0.1", 21),   # inside the /16, out of the /22 by bit 21
    (("10.8.0.0", 24), "127.0.0.3", 16),   # outside both: bit 16 decides
    (("10.9.8.0", 20), "127.0.0.2", 20),   # never more than the source prefix
    (("11.0.0.0", 24), "127.0.0.3", 8),
]


@pytest.mark.parametrize(("ecs", "answer", "scope"), SCOPE_TABLE)
def test_ecs_scope_is_what_the_decision_depended_on(zones, ecs, answer, scope) -> None:
    pools = "".join(f"      {n}:\n        values: [{{value: 127.0.0.{i}}}]\n"
                    for i, n in enumerate(("wide", "narrow", "rest"), start=1))
    rules = "      - subnets: [10.9.8.0/22]\n        pool: narrow\n" \
            "      - subnets: [10.9.0.0/16]\n        pool: wide\n      - pool: rest\n"
    policies = load(record(pools, rules), zones)
    routed = ask(router_for(policies, snapshot(policies)), ecs=ecs)
    assert values(routed) == [answer] and routed.ecs_scope == scope


def test_no_client_rules_means_scope_zero(zones) -> None:
    policies = load(record("      p:\n        values: [{value: 127.0.0.1}]\n",
                           "      - pool: p\n"), zones)
    routed = ask(router_for(policies, snapshot(policies)), ecs=("10.0.0.0", 24))
    assert routed.ecs_scope == 0


def test_no_rule_matched_serves_record_values(zones) -> None:
    policies = load(record("      p:\n        values: [{value: 127.0.0.1}]\n",
                           "      - subnets: [10.0.0.0/8]\n        pool: p\n"), zones)
    router = router_for(policies, snapshot(policies))
    assert values(ask(router, client="10.1.1.1")) == ["127.0.0.1"]
    assert values(ask(router, client="192.0.2.1")) == ["127.0.0.99"]


# -- latency rules ---------------------------------------------------------------------------
LAT_POOLS = "      eu:\n        values: [{value: 127.0.0.1}]\n" \
            "      na:\n        values: [{value: 127.0.0.2}]\n"


def test_latency_table_by_region_and_subnet(zones) -> None:
    rules = "      - pools: [eu, na]\n        latency:\n          EU: {eu: 20, na: 120}\n" \
            "          NA: {eu: 110, na: 15}\n          10.0.0.0/8: {na: 1, eu: 2}\n" \
            "          '*': {eu: 50, na: 60}\n"
    policies = load(record(LAT_POOLS, rules), zones)
    geo = FakeGeo({"192.0.2.1": GeoInfo("EU", "DE", None, 24),
                   "198.51.100.1": GeoInfo("NA", "US", "CA", 22)})
    router = router_for(policies, snapshot(policies), geo)
    assert values(ask(router, client="192.0.2.1")) == ["127.0.0.1"]
    assert values(ask(router, client="198.51.100.1")) == ["127.0.0.2"]
    assert values(ask(router, client="10.2.3.4")) == ["127.0.0.2"]
    assert values(ask(router, client="203.0.113.1")) == ["127.0.0.1"]
    down = snapshot(policies, {"127.0.0.2"})
    assert values(ask(router_for(policies, down, geo), client="198.51.100.1")) == ["127.0.0.1"]


def test_latency_measured_orders_pools(zones) -> None:
    rules = "      - pools: [eu, na]\n        latency: measured\n"
    policies = load(record(LAT_POOLS, rules), zones)
    snap = snapshot(policies, rtt={"127.0.0.1": 0.080, "127.0.0.2": 0.010})
    assert values(ask(router_for(policies, snap))) == ["127.0.0.2"]
    snap = snapshot(policies, {"127.0.0.2"}, rtt={"127.0.0.1": 0.080, "127.0.0.2": 0.010})
    assert values(ask(router_for(policies, snap))) == ["127.0.0.1"]


def test_a_new_snapshot_is_read_by_the_next_query(zones) -> None:
    """No rebuild on health changes: the router reads the board's current snapshot."""
    policies = load(record(FALLBACK_POOLS, "      - pool: a\n"), zones)
    current = {"snap": snapshot(policies)}
    router = Router(policies, lambda: current["snap"], clock=lambda: NOW)
    assert values(ask(router)) == ["127.0.0.1"]
    current["snap"] = snapshot(policies, {"127.0.0.1"})
    assert values(ask(router)) == ["127.0.0.2"]
    current["snap"] = snapshot(policies)
    assert values(ask(router)) == ["127.0.0.1"]


# -- the prepared decision (Router.Shortcut) against the full one -------------------------------
SHORTCUT_CASES = [
    ("      p:\n        values:\n          - {value: 127.0.0.1, weight: 5}\n"
     "          - {value: 127.0.0.2, weight: 3}\n          - {value: 127.0.0.3, weight: 2}\n",
     "      - pool: p\n", "", set()),
    ("      p:\n        mode: random\n        values:\n          - {value: 127.0.0.1, weight: 3}\n"
     "          - {value: 127.0.0.2, weight: 1}\n", "      - pool: p\n", "", set()),
    ("      p:\n        mode: all\n        values: [{value: 127.0.0.1}, {value: 127.0.0.2}]\n",
     "      - pool: p\n", "", {"127.0.0.2"}),
    ("      p:\n        mode: latency\n        values: [{value: 127.0.0.1}, {value: 127.0.0.2}]\n",
     "      - pool: p\n", "", set()),
    ("      a:\n        values: [{value: 127.0.0.1}]\n        fallback: b\n"
     "      b:\n        values: [{value: 127.0.0.2}, {value: 127.0.0.3, weight: 0}]\n",
     "      - pool: a\n", "", {"127.0.0.1", "127.0.0.2"}),
    ("      a:\n        values: [{value: 127.0.0.1}]\n", "      - pool: a\n",
     "    on_all_down: servfail\n", {"127.0.0.1"}),
    ("      a:\n        values: [{value: 127.0.0.1}, {value: 127.0.0.2}]\n", "      - pool: a\n",
     "    on_all_down: all\n", {"127.0.0.1", "127.0.0.2"}),
    ("      eu:\n        values: [{value: 127.0.0.1, weight: 2}, {value: 127.0.0.2}]\n"
     "      na:\n        values: [{value: 127.0.0.3}]\n",
     "      - subnets: [10.9.0.0/16]\n        pool: eu\n      - pool: na\n", "", set()),
]


@pytest.mark.parametrize(("pools", "rules", "extra", "down"), SHORTCUT_CASES)
def test_prepared_decisions_equal_the_full_decision(zones, pools, rules, extra, down) -> None:
    """The same questions through a router that prepares decisions per snapshot and through
    one that decides from scratch (tracing, as explain does): the same answers in the same
    order (round robin and seeded random included), rcodes and ECS scopes."""
    policies = load(record(pools, rules, extra), zones)
    snap = snapshot(policies, down, rtt={"127.0.0.1": 0.009, "127.0.0.2": 0.002})
    quick, full = router_for(policies, snap), router_for(policies, snap, tracing=True)
    clients = [("127.0.0.1", None), ("10.9.1.1", None), ("127.0.0.1", ("10.9.8.0", 24)),
               ("127.0.0.1", ("11.0.0.0", 24))]
    for turn in range(60):
        client, ecs = clients[turn % len(clients)]
        got, want = ask_bound(quick, client, ecs), ask(full, client=client, ecs=ecs)
        assert (values(got), got.ecs_scope) == (values(want), want.ecs_scope)
    assert quick._shortcuts and full._shortcuts is None


def test_prepared_decisions_follow_an_expiring_override(zones) -> None:
    """An override that expires changes the answer without a new snapshot: no prepared
    decision may outlive it."""
    clock = [NOW]
    pools = "      p:\n        values: [{value: 127.0.0.5}]\n"
    policies = load(record(pools, "      - pool: p\n", "    on_all_down: nodata\n"), zones)
    overrides = {("www.example.test:p", "127.0.0.5"): Override("down", NOW + 10)}
    snap = snapshot(policies, overrides=overrides)
    router = Router(policies, lambda: snap, None, clock=lambda: clock[0], rng=random.Random(7))
    assert values(ask_bound(router)) == "NODATA"
    clock[0] = NOW + 11
    assert values(ask_bound(router)) == ["127.0.0.5"]


def ask_bound(router: Router, client: str = "127.0.0.1", ecs: tuple[str, int] | None = None):
    """As :func:`ask`, for a name bound as zones bind it: the policy's own name object."""
    policy = router.policies.find(dns.name.from_text("www.example.test"), dns.rdatatype.A)
    subnet = ClientSubnet(1, ecs[0], ecs[1]) if ecs else None
    query = Query(1, policy.name, dns.rdatatype.A, 1, 0, False, False, None,
                  Client(client, 5353, "udp", subnet))
    return router.select(Dynamic(policy.name, dns.rdatatype.A, 30), query)
