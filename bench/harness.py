"""Shared pieces of the benchmarks: servers pinned to a CPU, dnsperf runs, CPU accounting.

Every server runs under ``taskset`` on its own CPU (0 by default) and dnsperf on another (1),
so a figure says what one core of each server does. Traffic goes to 127.0.60.0/24 only, and
every dnsperf run is bounded by ``-l`` seconds (or ``-n`` passes).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# dnsperf -E code:hex: ECS (8), family 1, source prefix 24, scope 0, 192.0.2.0 (RFC 5737)
ECS_OPTION = "8:00011800c00002"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)} (apt-get install nsd dnsperf unbound)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every live descendant (NSD forks its servers)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid = int(fields[1])
        children.setdefault(ppid, []).append(int(entry))
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, ()))
    return total


def memory_bytes(pid: int, key: str = "VmHWM") -> int:
    """``VmHWM`` (peak resident set) or ``VmRSS`` (resident now) of one process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def wait_answering(host: str, port: int, qname: str, timeout: float, proc: subprocess.Popen
                   ) -> None:
    """Poll with a tiny SOA query until the server answers it (any rcode but REFUSED)."""
    import dns.message
    import dns.query

    deadline = time.monotonic() + timeout
    request = dns.message.make_query(qname, "SOA")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            reply = dns.query.udp(request, host, port=port, timeout=0.5)
            if reply.rcode() != 5:
                return
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {host}:{port} after {timeout}s")


@dataclass
class Server:
    """A DNS server process under test."""

    name: str
    host: str
    port: int
    proc: subprocess.Popen
    workdir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _spawn(cmd: list[str], log: Path, cpu: str | None, env: dict[str, str] | None = None
           ) -> subprocess.Popen:
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    out = open(log, "w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def start_nsd(workdir: Path, zones: dict[str, Path], host: str = "127.0.60.1", port: int = 53,
              cpu: str | None = "0") -> Server:
    """NSD with its own config, pid, state and log files in ``workdir``; RRL off."""
    workdir.mkdir(parents=True, exist_ok=True)
    zone_blocks = "".join(
        f"zone:\n  name: {origin}\n  zonefile: {path.resolve()}\n"
        for origin, path in zones.items()
    )
    conf = workdir / "nsd.conf"
    conf.write_text(
        "server:\n"
        "  server-count: 1\n"
        f"  ip-address: {host}@{port}\n"
        '  username: ""\n'
        '  chroot: ""\n'
        f"  zonesdir: {workdir}\n"
        '  database: ""\n'
        f"  zonelistfile: {workdir}/zone.list\n"
        f"  xfrdfile: {workdir}/xfrd.state\n"
        f"  pidfile: {workdir}/nsd.pid\n"
        "  verbosity: 1\n"
        "  rrl-ratelimit: 0\n"
        "  tcp-count: 1000\n"
        "remote-control:\n"
        "  control-enable: no\n" + zone_blocks
    )
    log = workdir / "nsd.log"
    proc = _spawn(["nsd", "-d", "-c", str(conf)], log, cpu)
    server = Server("nsd", host, port, proc, workdir, log)
    wait_answering(host, port, next(iter(zones)), 30, proc)
    return server


def start_ours(workdir: Path, zones_dir: Path, host: str = "127.0.60.2", port: int = 53,
               cpu: str | None = "0", extra: tuple[str, ...] = (), probe: str = "bench.test",
               timeout: float = 60, policies: Path | None = None, recursion: bool = False,
               launcher: tuple[str, ...] = ("-m", "resolver")) -> Server:
    """``resolver serve --no-recursion`` on ``host:port``, serving ``zones_dir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, *launcher, "serve", "--listen", f"{host}:{port}",
        "--zones", str(zones_dir), "--policies", str(policies or workdir / "no-policies"),
        "--admin", f"{host}:0", "--log-level", "warning",
        *(() if recursion else ("--no-recursion",)), *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = workdir / "resolver.log"
    proc = _spawn(cmd, log, cpu, env)
    server = Server("ours", host, port, proc, workdir, log)
    wait_answering(host, port, probe, timeout, proc)
    return server


@dataclass
class Perf:
    """One dnsperf run, as dnsperf reports it plus percentiles from its per-query lines."""

    sent: int = 0
    completed: int = 0
    lost: int = 0
    qps: float = 0.0
    avg_ms: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_s: float = 0.0
    seconds: float = 0.0
    rcodes: dict[str, int] = field(default_factory=dict)

    @property
    def per_cpu_second(self) -> float:
        return self.completed / self.cpu_s if self.cpu_s else 0.0


_NUMBER = {
    "sent": re.compile(r"Queries sent:\s+(\d+)"),
    "completed": re.compile(r"Queries completed:\s+(\d+)"),
    "lost": re.compile(r"Queries lost:\s+(\d+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
    "avg": re.compile(r"Average Latency \(s\):\s+([\d.]+)"),
    "runtime": re.compile(r"Run time \(s\):\s+([\d.]+)"),
}


def dnsperf(server: Server, queries: Path, seconds: float | None = 10, *, tcp: bool = False,
            qps: float | None = None, clients: int = 4, outstanding: int = 100,
            passes: int | None = None, cpu: str | None = "1", edns: bool = False,
            ecs: bool = False, percentiles: bool = True) -> Perf:
    """Run dnsperf against ``server``; CPU time of the server is measured around the run.
    ``ecs``: every query carries an EDNS Client Subnet option (``ECS_OPTION``)."""
    cmd = ["dnsperf", "-s", server.host, "-p", str(server.port), "-d", str(queries),
           "-c", str(clients), "-q", str(outstanding), "-t", "2"]
    if seconds is not None:
        cmd += ["-l", str(seconds)]
    if passes is not None:
        cmd += ["-n", str(passes)]
    if tcp:
        cmd += ["-m", "tcp"]
    if qps is not None:
        cmd += ["-Q", str(int(qps))]
    if edns:
        cmd += ["-e"]
    if ecs:
        cmd += ["-E", ECS_OPTION]
    if percentiles:
        cmd += ["-v"]
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    before = server.cpu()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=(seconds or 60) + 60)
    used = server.cpu() - before
    return parse(run.stdout, used)


def parse(text: str, cpu_s: float = 0.0) -> Perf:
    perf = Perf(cpu_s=cpu_s)
    values = {k: rx.search(text) for k, rx in _NUMBER.items()}
    if values["sent"] is None:
        raise RuntimeError(f"dnsperf said:\n{text[-2000:]}")
    perf.sent = int(values["sent"].group(1))
    perf.completed = int(values["completed"].group(1))  # type: ignore[union-attr]
    perf.lost = int(values["lost"].group(1))  # type: ignore[union-attr]
    perf.qps = float(values["qps"].group(1))  # type: ignore[union-attr]
    perf.avg_ms = float(values["avg"].group(1)) * 1000  # type: ignore[union-attr]
    perf.seconds = float(values["runtime"].group(1))  # type: ignore[union-attr]
    latencies: list[float] = []
    for line in text.splitlines():
        if line.startswith("> "):
            parts = line.split()
            perf.rcodes[parts[1]] = perf.rcodes.get(parts[1], 0) + 1
            latencies.append(float(parts[-1]))
    if latencies:
        latencies.sort()
        perf.p50_ms = latencies[len(latencies) // 2] * 1000
        perf.p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return perf


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def conditions() -> str:
    """One line on the machine's state: load average and the busiest other processes."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} CPUs, load average {' '.join(load)}"


def free_tcp_udp(host: str, port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True
