"""Startup and shutdown: one log line per listener (IPv4 and IPv6), a clear message and a
non-zero exit when a port is taken or a file is invalid, a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import pytest

from tests.support.server import REPO, ResolverProcess, free_port

ZONES = REPO / "tests" / "data" / "serve" / "zones"
POLICIES = ZONES.parent / "policies"  # none
TIMEOUT = 60.0  # a failed start takes a second or two; the CPU is shared


def run_serve(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``resolver serve`` expected to exit by itself (a failed start)."""
    cmd = [sys.executable, "-m", "resolver", "serve", "--no-recursion",
           "--admin", f"127.0.0.1:{free_port()}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def answers(host: str, port: int, name: str = "www.example.test") -> None:
    """``name`` is answered over UDP and TCP at ``host:port``."""
    for send in (dns.query.udp, dns.query.tcp):
        reply = send(dns.message.make_query(name, "A"), host, port=port, timeout=10)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer


def test_udp_port_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                           "--listen", f"127.0.0.1:{port}")
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}: udp port {port} is already in use" in (
        result.stderr)


def test_tcp_port_taken() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                           "--listen", f"127.0.0.1:{port}")
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}: tcp port {port} is already in use" in (
        result.stderr)


def test_non_loopback_admin_without_token_is_a_startup_error() -> None:
    """An admin API asked for but not servable safely is fatal at startup, with the reason,
    like a taken port; nothing is left listening."""
    port = free_port()
    result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                       "--listen", f"127.0.0.1:{free_port()}", "--admin", f"0.0.0.0:{port}")
    assert result.returncode != 0
    assert "refusing to serve the admin API on 0.0.0.0" in result.stderr
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_admin_port_taken_is_a_startup_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                           "--listen", f"127.0.0.1:{free_port()}", "--admin", f"127.0.0.1:{port}")
    assert result.returncode != 0
    assert "cannot start the admin API" in result.stderr


def test_second_listener_taken_releases_the_first() -> None:
    first = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                           "--listen", f"127.0.0.1:{first}", "--listen", f"127.0.0.1:{taken}")
    assert result.returncode != 0 and f"port {taken} is already in use" in result.stderr
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", first))  # the process is gone; nothing holds it


def test_address_not_on_this_host() -> None:
    result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                       "--listen", "192.0.2.1:5353")  # binding only: no packet is sent
    assert result.returncode != 0
    assert "cannot listen on 192.0.2.1:5353" in result.stderr
    assert "no interface has this address" in result.stderr


def test_invalid_listen_value() -> None:
    result = run_serve("--zones", str(ZONES), "--policies", str(POLICIES),
                       "--listen", "localhost:53x")
    assert result.returncode != 0
    assert "'localhost:53x' is not ADDR:PORT" in result.stderr


def test_invalid_zone_file_at_startup(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "good.test.zone").write_text(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\n")
    bad = zones / "bad.test.zone"
    bad.write_text("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\nwww A 1.2\n")
    result = run_serve("--zones", str(zones), "--policies", str(POLICIES),
                       "--listen", f"127.0.0.1:{free_port()}")
    assert result.returncode != 0
    assert "invalid zone files" in result.stderr
    assert f"{bad}:5: " in result.stderr
    assert "listening on" not in result.stderr


def test_invalid_config_file_at_startup(tmp_path: Path) -> None:
    config = tmp_path / "resolver.toml"
    config.write_text('zones = "zones"\nlisten = [\n')
    result = run_serve("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"resolver: {config}:")
    assert "invalid TOML" in result.stderr


def test_one_line_per_listener_ipv4_and_ipv6() -> None:
    v6 = free_port("::1")
    with ResolverProcess(ZONES, "--listen", f"[::1]:{v6}", "--listen", "127.0.0.1:0",
                         policies=POLICIES) as proc:
        log = proc.log()
        listening = re.findall(r"listening on (\S+) \(udp, tcp\)", log)
        assert len(listening) == 3, log
        assert listening[:2] == [f"127.0.0.1:{proc.port}", f"[::1]:{v6}"]
        any_port = int(listening[2].rsplit(":", 1)[1])  # port 0: UDP and TCP on one port
        assert any_port > 0
        answers("127.0.0.1", proc.port)
        answers("::1", v6)
        answers("127.0.0.1", any_port)


def test_ipv6_only() -> None:
    with ResolverProcess(ZONES, host="::1", policies=POLICIES) as proc:
        answers("::1", proc.port)
        assert f"listening on [::1]:{proc.port}" in proc.log()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly(signum: int) -> None:
    proc = ResolverProcess(ZONES, policies=POLICIES)
    clients = []
    try:
        answers("127.0.0.1", proc.port)
        for data in (b"", b"\x00\x40abc"):  # open TCP clients, idle and half-framed
            client = socket.create_connection(("127.0.0.1", proc.port), timeout=TIMEOUT)
            client.sendall(data)
            clients.append(client)
        proc.proc.send_signal(signum)
        assert proc.proc.wait(timeout=TIMEOUT) == 0
    finally:
        proc.stop()
        for client in clients:
            client.close()
    log = proc.log()
    assert "stopping" in log and "Traceback" not in log, log
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:  # the ports are free
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", proc.port))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", proc.port))


def test_missing_zones_folder_is_watched(tmp_path: Path) -> None:
    zones = tmp_path / "later"
    with ResolverProcess(zones, policies=POLICIES) as proc:
        assert "zones folder" in proc.log() and "does not exist" in proc.log()
        assert proc.query("www.example.test", "A").rcode() == dns.rcode.REFUSED
        zones.mkdir()
        (zones / "example.test.zone").write_text((ZONES / "example.test.zone").read_text())
        deadline = time.monotonic() + TIMEOUT
        while not proc.query("www.example.test", "A").answer:
            assert time.monotonic() < deadline, proc.log()
            time.sleep(0.05)
        answers("127.0.0.1", proc.port)
