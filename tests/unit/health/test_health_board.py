"""The board: hysteresis, RTT average, admin overrides, pushed replica status, read model."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from resolver.health.board import BoardError, HealthBoard
from resolver.health.hysteresis import next_target_state
from resolver.health.model import ProbeResult, TargetState
from resolver.routing.spec import Timing
from tests.support.policies import policies_from, zone_data


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


OK, FAIL = ProbeResult(True, "status 200", 0.01), ProbeResult(False, "refused")


# results in order -> states after each (rise 2, fall 3)
HYSTERESIS_TABLE = [
    ("F", "D"),                    # the first result decides at once
    ("O", "U"),
    ("OFF", "UUU"),                # two failures are not enough
    ("OFFF", "UUUD"),              # the third is
    ("OFFFO", "UUUDD"),            # one success is not enough to come back
    ("OFFFOO", "UUUDDU"),
    ("OFFOFFF", "UUUUUUD"),        # a success in between resets the failure count
    ("FOFO", "DDDD"),
]


@pytest.mark.parametrize(("results", "states"), HYSTERESIS_TABLE)
def test_rise_and_fall(results: str, states: str) -> None:
    timing = Timing(interval=1, timeout=0.5, rise=2, fall=3)
    state = TargetState(None)
    seen = ""
    for i, r in enumerate(results):
        state = next_target_state(state, OK if r == "O" else FAIL, float(i), timing)
        seen += "U" if state.up else "D"
    assert seen == states


def test_state_keeps_reason_and_since() -> None:
    timing = Timing(interval=1, timeout=0.5, rise=1, fall=2)
    state = next_target_state(TargetState(None), OK, 1.0, timing)
    state = next_target_state(state, ProbeResult(False, "status 503"), 2.0, timing)
    assert state.up and "pending status 503 (1/2)" in state.reason and state.since == 1.0
    state = next_target_state(state, ProbeResult(False, "timeout"), 3.0, timing)
    assert not state.up and state.reason == "timeout" and state.since == 3.0


def test_rtt_is_an_ewma() -> None:
    timing = Timing()
    state = TargetState(None)
    for rtt in (0.010, 0.020, 0.020):
        state = next_target_state(state, ProbeResult(True, "ok", rtt), 0, timing)
    assert state.rtt == pytest.approx(0.010 + 0.3 * 0.010 + 0.3 * (0.020 - 0.013))


POLICY = """
www:
  type: A
  values: [127.0.0.99]
  dynamic:
    pools:
      web:
        values: [{value: 127.0.30.1}, {value: 127.0.30.2}]
    rules: [{pool: web}]
  octodns:
    healthcheck: {protocol: HTTP, port: 8080, path: /health, interval: 1s, fall: 2, rise: 2}
db:
  type: A
  values: [127.0.0.99]
  dynamic:
    pools:
      r:
        values: [{value: 127.0.30.41}, {value: 127.0.30.42}]
        replication: {role: replica, source: json, max_lag: 5s, resume_lag: 3s}
      p:
        values: [{value: 127.0.30.41}, {value: 127.0.30.42}]
        replication: {role: primary, source: push}
    rules: [{pool: r}]
"""


@pytest.fixture
def board(tmp_path: Path) -> tuple[HealthBoard, Clock, dict]:
    policies, problems = policies_from(POLICY, zone_data(tmp_path))
    assert problems == []
    clock = Clock()
    board = HealthBoard(clock)
    targets = board.configure(policies.pools())
    return board, clock, targets


def target_of(targets: dict, kind: str, address: str):
    return next(t for t in targets if t.kind == kind and t.address == address)


def member(board: HealthBoard, pool: str, value: str):
    view = board.pool_view(pool)
    return next(m for m in view.members if m.value == value)


def test_one_target_per_address_and_kind(board) -> None:
    _, _, targets = board
    kinds = sorted((t.kind, t.address) for t in targets)
    assert kinds == [("http", "127.0.30.1"), ("http", "127.0.30.2"),
                     ("json", "127.0.30.41"), ("json", "127.0.30.42")]


def test_snapshot_is_swapped_not_mutated(board) -> None:
    b, _, targets = board
    before = b.snapshot
    b.report(target_of(targets, "http", "127.0.30.1"), FAIL)
    assert b.snapshot is not before and b.snapshot.generation == before.generation + 1
    assert all(s.up is None for s in before.targets.values())


def test_ready_after_first_results(board) -> None:
    b, _, targets = board
    assert not b.ready()
    for t in targets:
        b.report(t, OK if t.kind == "http" else ProbeResult(True, "", 0.01, "replica", 0.5))
    assert b.ready()


def test_admin_override_with_until(board) -> None:
    b, clock, targets = board
    b.report(target_of(targets, "http", "127.0.30.1"), OK)
    b.set_override("www.example.test:web", "127.0.30.1", "drain", until=clock.now + 10)
    view = member(b, "www.example.test:web", "127.0.30.1")
    assert (view.admin_state, view.health, view.eligible, view.why) == (
        "drain", "up", False, "admin: drain")
    clock.now += 11
    view = member(b, "www.example.test:web", "127.0.30.1")
    assert (view.admin_state, view.eligible) == ("auto", True)
    b.set_override("www.example.test:web", "127.0.30.1", "down")
    b.set_override("www.example.test:web", "127.0.30.1", "auto")
    assert member(b, "www.example.test:web", "127.0.30.1").eligible


@pytest.mark.parametrize(("call", "field"), [
    (lambda b: b.set_override("nope", "127.0.30.1", "up"), "pool"),
    (lambda b: b.set_override("www.example.test:web", "127.0.0.9", "up"), "value"),
    (lambda b: b.set_override("www.example.test:web", "127.0.30.1", "sideways"), "admin_state"),
    (lambda b: b.set_override("www.example.test:web", "127.0.30.1", "up", until=1.0), "until"),
    (lambda b: b.push("www.example.test:web", "127.0.30.1", "primary", 0, 30), "pool"),
    (lambda b: b.push("db.example.test:p", "127.0.30.41", "boss", 0, 30), "role"),
    (lambda b: b.push("db.example.test:p", "127.0.30.41", "replica", -1, 30), "lag_seconds"),
    (lambda b: b.push("db.example.test:p", "127.0.30.41", "replica", 1, 0), "ttl"),
])
def test_admin_errors_name_the_field(board, call, field) -> None:
    with pytest.raises(BoardError) as err:
        call(board[0])
    assert err.value.field == field


def test_push_expires(board) -> None:
    b, clock, _ = board
    b.push("db.example.test:p", "127.0.30.41", "primary", None, ttl=30)
    view = member(b, "db.example.test:p", "127.0.30.41")
    assert (view.role, view.eligible, view.replica_source) == ("primary", True, "push")
    clock.now += 31
    view = member(b, "db.example.test:p", "127.0.30.41")
    assert not view.eligible and view.why == "no primary (pushed status expired)"


def test_replica_lag_hysteresis(board) -> None:
    b, clock, targets = board
    t = target_of(targets, "json", "127.0.30.42")
    seen = []
    for lag in (1.0, 4.9, 5.5, 4.0, 3.5, 3.0, 4.9, 5.1):
        clock.now += 1
        b.report(t, ProbeResult(True, "role replica", 0.01, "replica", lag))
        seen.append(member(b, "db.example.test:r", "127.0.30.42").eligible)
    assert seen == [True, True, False, False, False, True, True, False]
    assert member(b, "db.example.test:r", "127.0.30.42").why == "lag 5.1 s > 5 s"


def test_replica_unreachable_after_fall(board) -> None:
    b, _, targets = board
    t = target_of(targets, "json", "127.0.30.41")
    b.report(t, ProbeResult(True, "role replica", 0.01, "replica", 0.0))
    assert member(b, "db.example.test:r", "127.0.30.41").eligible
    b.report(t, FAIL)  # fall is 2 for replication by default: one failure keeps the role
    assert member(b, "db.example.test:r", "127.0.30.41").eligible
    b.report(t, FAIL)
    view = member(b, "db.example.test:r", "127.0.30.41")
    assert not view.eligible and view.why == "status unreachable: refused"


def test_push_wins_over_poll_until_it_expires(tmp_path: Path) -> None:
    text = POLICY.replace("source: push", "source: json")
    policies, _ = policies_from(text, zone_data(tmp_path))
    clock = Clock()
    b = HealthBoard(clock)
    targets = b.configure(policies.pools())
    t = target_of(targets, "json", "127.0.30.41")
    b.push("db.example.test:p", "127.0.30.41", "replica", 0.0, ttl=10)
    b.report(t, ProbeResult(True, "role primary", 0.01, "primary", 0.0))
    assert member(b, "db.example.test:p", "127.0.30.41").role == "replica"
    clock.now += 11
    b.report(t, ProbeResult(True, "role primary", 0.01, "primary", 0.0))
    assert member(b, "db.example.test:p", "127.0.30.41").role == "primary"


def test_patroni_lag_from_positions(tmp_path: Path) -> None:
    text = POLICY.replace("source: json, max_lag", "source: patroni, max_lag")
    policies, _ = policies_from(text, zone_data(tmp_path))
    clock = Clock(10_000.0)
    b = HealthBoard(clock)
    targets = b.configure(policies.pools())
    primary = target_of(targets, "patroni", "127.0.30.41")
    replica = target_of(targets, "patroni", "127.0.30.42")
    b.report(primary, ProbeResult(True, "role primary", 0.01, "primary", 0.0, 5000))
    b.report(replica, ProbeResult(True, "role replica", 0.01, "replica", None, 5000, 9000.0))
    assert member(b, "db.example.test:r", "127.0.30.42").lag_seconds == 0.0
    b.report(primary, ProbeResult(True, "role primary", 0.01, "primary", 0.0, 9000))
    view = member(b, "db.example.test:r", "127.0.30.42")
    assert view.lag_seconds == 1000.0 and not view.eligible


def test_views_and_configure_drops_old_state(board, tmp_path: Path) -> None:
    b, _, targets = board
    b.report(target_of(targets, "http", "127.0.30.1"), OK)
    views = {v.id: v for v in b.pools_view()}
    assert set(views) == {"www.example.test:web", "db.example.test:r", "db.example.test:p"}
    assert [v.id for v in b.replicas_view()] == ["db.example.test:r", "db.example.test:p"]
    m = views["www.example.test:web"].members[0].__class__
    assert "rtt_ms" in m.__dataclass_fields__
    assert views["www.example.test:web"].to_dict()["members"][0]["health"] == "up"
    b.set_override("www.example.test:web", "127.0.30.2", "down")
    policies, _ = policies_from(POLICY.split("db:")[0], zone_data(tmp_path))
    left = b.configure(policies.pools())
    assert {t.kind for t in left} == {"http"}
    assert b.snapshot.overrides  # still a member
    policies, _ = policies_from("www:\n  type: A\n  values: [127.0.0.1]\n", zone_data(tmp_path))
    assert b.configure(policies.pools()) == {}
    assert not b.snapshot.overrides and not b.snapshot.targets


def test_state_exported_and_imported_for_the_pools_in_use(board, tmp_path: Path) -> None:
    leader, clock, targets = board
    web = target_of(targets, "http", "127.0.30.1")
    leader.report(web, FAIL)
    leader.set_override("www.example.test:web", "127.0.30.2", "drain")
    leader.push("db.example.test:p", "127.0.30.42", "primary", None, ttl=30)
    state = pickle.loads(pickle.dumps(leader.export_state()))  # as it crosses processes
    leader.report(web, OK)
    assert state.targets[web].up is False  # a copy, not the board's own tables

    follower = HealthBoard(clock)  # another worker, with only the www policy
    policies, _ = policies_from(POLICY.split("db:")[0], zone_data(tmp_path))
    follower.configure(policies.pools())
    published = []
    follower.on_publish(published.append)
    follower.import_state(state)
    assert published == [follower.snapshot]
    assert follower.snapshot.targets[web].up is False
    assert set(follower.snapshot.targets) == {t for t in targets if t.kind == "http"}
    assert member(follower, "www.example.test:web", "127.0.30.2").admin_state == "drain"
    assert follower.export_state().pushed == {}  # db's members are not used here

    empty = HealthBoard(clock).export_state()
    follower.import_state(empty)  # the leader knows nothing yet: this board keeps its own
    assert follower.snapshot.targets[web].up is False
    assert not follower.snapshot.overrides


def test_a_failing_subscriber_does_not_stop_a_change(board) -> None:
    b, _, targets = board

    def fail(_snapshot: object) -> None:
        raise RuntimeError("boom")

    seen = []
    b.on_publish(fail)
    b.on_publish(lambda snapshot: seen.append(snapshot.generation))
    b.report(target_of(targets, "http", "127.0.30.1"), OK)
    assert seen == [b.snapshot.generation]
