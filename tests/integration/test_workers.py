"""``serve --workers 2``: two processes answer on one port; a SIGHUP and ``POST
/api/v1/reload`` reach both, and ``/metrics`` counts both.

Which worker answers a query is the kernel's choice (SO_REUSEPORT hashes the client's
address and port), so queries go out from many client sockets. To tell that each worker
answers, one is paused (SIGSTOP) while the other must still answer some of them, then the
other way round.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from pathlib import Path

import dns.message
import dns.rdatatype
import pytest

from tests.support.admin import TOKEN, AdminClient, metric_samples, queries_counted
from tests.support.server import ResolverProcess

CLIENTS = 24


def workers_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                children.append(int(entry))
    return sorted(children)


def ask_from_many(server: ResolverProcess, name: str, timeout: float = 1.0) -> list[str | None]:
    """The A record each of CLIENTS client sockets gets (None: no answer in time)."""
    answers: list[str | None] = []
    for _ in range(CLIENTS):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(dns.message.make_query(name, "A").to_wire(), (server.host, server.port))
            try:
                reply = dns.message.from_wire(sock.recv(4096))
            except (OSError, dns.exception.DNSException):
                answers.append(None)
                continue
            rrsets = [r for r in reply.answer if r.rdtype == dns.rdatatype.A]
            answers.append(rrsets[0][0].address if rrsets else "")
    return answers


ZONE = """$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
     NS  ns1
ns1  A   127.0.0.53
www  A   127.0.0.80
"""


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    folder = tmp_path / "zones"
    folder.mkdir()
    (folder / "example.test.zone").write_text(ZONE)
    return folder


def settle(server: ResolverProcess, name: str, want: set[str | None], deadline: float = 15
           ) -> set[str | None]:
    """Ask from many clients until every answer is in ``want`` (a loaded CPU may be slow)."""
    end = time.monotonic() + deadline
    while True:
        got = set(ask_from_many(server, name))
        if got <= want or time.monotonic() > end:
            return got
        time.sleep(0.2)


def each_worker_answers(server: ResolverProcess, pids: list[int], name: str
                        ) -> list[set[str]]:
    """What each worker answers, found by pausing the other one (SIGSTOP) in turn."""
    found = []
    for paused, running in (pids, pids[::-1]):
        os.kill(paused, signal.SIGSTOP)
        try:
            answered = {a for a in ask_from_many(server, name, 0.3) if a}
        finally:
            os.kill(paused, signal.SIGCONT)
        assert answered, f"worker {running} answered nothing while {paused} was paused"
        found.append(answered)
    return found


def edit_unseen(zone: Path, old: str, new: str) -> None:
    """An edit that keeps the file's size, time and inode: only a reload makes it seen."""
    before = zone.stat()
    zone.write_text(zone.read_text().replace(old, new))
    os.utime(zone, ns=(before.st_atime_ns, before.st_mtime_ns))


def wait_for_workers(server: ResolverProcess, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if f"ready: {count} workers" in server.log():
            return workers_of(server.proc.pid)
        time.sleep(0.05)
    raise AssertionError(f"workers not ready:\n{server.log()}")


def test_two_workers_answer_and_reload_together(zones: Path, tmp_path: Path) -> None:
    with ResolverProcess(zones, "--workers", "2", policies=tmp_path / "none") as server:
        pids = wait_for_workers(server, 2)
        assert len(pids) == 2
        assert settle(server, "www.example.test", {"127.0.0.80"}) == {"127.0.0.80"}
        assert each_worker_answers(server, pids, "www.example.test") == [{"127.0.0.80"}] * 2

        edit_unseen(zones / "example.test.zone", "127.0.0.80", "127.0.0.81")
        time.sleep(1.5)  # a poll or two: nothing changes without the signal
        assert settle(server, "www.example.test", {"127.0.0.80"}) == {"127.0.0.80"}
        server.reload()
        assert settle(server, "www.example.test", {"127.0.0.81"}) == {"127.0.0.81"}
        assert server.log().count("reload requested") >= 3  # the parent, then each worker
    assert server.proc.returncode == 0
    assert workers_of(server.proc.pid) == []


def test_an_api_reload_is_done_by_every_worker_before_the_answer(zones: Path,
                                                                 tmp_path: Path) -> None:
    with ResolverProcess(zones, "--workers", "2", policies=tmp_path / "none",
                         env={"RESOLVER_API_TOKEN": TOKEN}) as server:
        pids = wait_for_workers(server, 2)
        assert settle(server, "www.example.test", {"127.0.0.80"}) == {"127.0.0.80"}
        edit_unseen(zones / "example.test.zone", "127.0.0.80", "127.0.0.81")
        api = AdminClient(server.admin_port)
        reply = api.call("POST", "/api/v1/reload")
        api.close()
        assert reply.status == 200, reply.body
        assert reply.body["reloaded"] is True
        assert reply.body["workers"] == {"count": 2, "confirmed": [0, 1], "starting": [],
                                         "unconfirmed": []}
        # Confirmed means done: each worker answers the edit at once, with no waiting.
        assert each_worker_answers(server, pids, "www.example.test") == [{"127.0.0.81"}] * 2


def wait_for_count(api: AdminClient, at_least: float, deadline: float = 10) -> float:
    """The queries /metrics counts, once at least ``at_least`` (the others' part is up to a
    second old) or at the deadline."""
    end = time.monotonic() + deadline
    while True:
        counted = queries_counted(metric_samples(api))
        if counted >= at_least or time.monotonic() > end:
            return counted
        time.sleep(0.2)


def test_metrics_count_every_worker_across_a_restart(zones: Path, tmp_path: Path) -> None:
    with ResolverProcess(zones, "--workers", "2", policies=tmp_path / "none") as server:
        pids = wait_for_workers(server, 2)
        api = AdminClient(server.admin_port, token=None)
        os.kill(pids[0], signal.SIGSTOP)  # what is answered now, worker 1 answered
        try:
            by_worker_1 = [a for a in ask_from_many(server, "www.example.test", 0.3) if a]
        finally:
            os.kill(pids[0], signal.SIGCONT)  # it answers the rest from its socket buffer
        assert by_worker_1
        assert all(ask_from_many(server, "www.example.test"))  # both running
        sent = 2 * CLIENTS
        counted = wait_for_count(api, sent)
        assert counted >= sent, f"{counted} of {sent} queries counted: worker 1's are missing"

        time.sleep(1.5)  # no queries now: every worker has written its last count
        before = wait_for_count(api, 0)
        os.kill(pids[1], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while len(set(workers_of(server.proc.pid)) - {pids[1]}) < 2:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        time.sleep(1.5)  # the new worker 1 has written its first count
        assert wait_for_count(api, 0) >= before  # it went on from its last run's count
        api.close()


def test_a_worker_that_dies_is_started_again(zones: Path, tmp_path: Path) -> None:
    with ResolverProcess(zones, "--workers", "2", policies=tmp_path / "none") as server:
        first = wait_for_workers(server, 2)
        os.kill(first[1], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = workers_of(server.proc.pid)
            if len(now) == 2 and first[1] not in now:
                break
            time.sleep(0.1)
        assert len(workers_of(server.proc.pid)) == 2
        assert "starting it again" in server.log()
        assert settle(server, "www.example.test", {"127.0.0.80"}) == {"127.0.0.80"}


def test_a_startup_error_in_the_workers_stops_the_server(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "bad.test.zone").write_text("$TTL 60\n@ SOA ns1 hm 1 2 3 4 5\nwww A not-an-ip\n")
    with pytest.raises(RuntimeError, match="server exited 2"):
        ResolverProcess(zones, "--workers", "2", policies=tmp_path / "none")


class TcpBackend:
    """A listening socket that counts the connections (health checks) it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=2)


POLICY = """svc:
  type: A
  ttl: 30
  values: [127.0.0.99]
  dynamic:
    pools:
      main:
        values: [{{value: 127.0.0.1}}]
    rules: [{{pool: main}}]
  octodns:
    healthcheck: {{protocol: TCP, port: {port}, interval: 0.25s, timeout: 0.2s, rise: 1,
                  fall: 1}}
"""


def test_health_is_checked_once_and_shared(zones: Path, tmp_path: Path) -> None:
    backend = TcpBackend()
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "example.test.yaml").write_text(POLICY.format(port=backend.port))
    try:
        with ResolverProcess(zones, "--workers", "2", policies=policies) as server:
            wait_for_workers(server, 2)
            assert settle(server, "svc.example.test", {"127.0.0.1"}) == {"127.0.0.1"}
            before = backend.accepted
            time.sleep(2.0)
            probes = backend.accepted - before
            assert probes <= 12, f"{probes} checks in 2 s at a 0.25 s interval: not one prober"
            assert server.log().count("health check started") == 1
            backend.close()  # down: worker 1, which checks nothing itself, must see it too
            assert settle(server, "svc.example.test", {"127.0.0.99"}) == {"127.0.0.99"}
    finally:
        backend.close()
