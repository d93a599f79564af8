"""Recursion cache hits, ours vs Unbound, on a copy of the recursion tests' offline tree.

The tree (``tests/data/recursion``: root, TLDs, second-level zones) is served by our server
in authoritative mode, moved from 127.0.40-43.x to 127.0.60.41-71 so that it never collides
with a test run. Unbound (one thread, iterator only) and our server (recursion on, root
hints of the copy) both run pinned to CPU 0; a warm-up pass fills both caches, then dnsperf
(pinned to CPU 1) asks the same questions in alternating rounds: every answer is a cache
hit, with TTLs counting down. The target is ours >= 0.8x Unbound.

    python -m bench.recursion_qps
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.auth_qps import hostport, line, options, report, summary
from bench.harness import (
    REPO,
    Perf,
    Server,
    conditions,
    dnsperf,
    need,
    start_ours,
    wait_answering,
)
from tests.support.unbound import CONFIG as UNBOUND_CONFIG

TREE = REPO / "tests" / "data" / "recursion"
LEVELS = {"root": ["127.0.40.1"], "tld": ["127.0.41.1", "127.0.41.2"],
          "sld_a": ["127.0.42.1", "127.0.42.2"], "sld_b": ["127.0.43.1"]}
QUESTIONS = [
    "www.example.test A", "www.example.test AAAA", "mail.example.test MX",
    "alias.example.test A", "chain.example.test A", "txt.example.test TXT",
    "a.b.c.d.e.f.g.example.test A", "x.ent.example.test A", "www.other.test A",
    "a.other.test A", "nosuch.example.test A", "www.example.test TXT",
]
UNBOUND = UNBOUND_CONFIG  # the same Unbound setup the interop tests compare against


def moved(text: str) -> str:
    """127.0.4X.n -> 127.0.60.(41 + 10X + n - 1): the bench's own addresses."""
    return re.sub(r"127\.0\.4([0-3])\.([1-9])\b",
                  lambda m: f"127.0.60.{41 + 10 * int(m[1]) + int(m[2]) - 1}", text)


def copy_tree(work: Path) -> Path:
    for level in LEVELS:
        target = work / "tree" / level
        target.mkdir(parents=True)
        for zone in (TREE / level).glob("*.zone"):
            (target / zone.name).write_text(moved(zone.read_text()))
    hints = work / "tree" / "hints"
    hints.write_text(moved((TREE / "hints").read_text()))
    return hints


def start_tree(work: Path) -> list[Server]:
    servers: list[Server] = []
    try:
        for level, addresses in LEVELS.items():
            first, *more = [moved(a) for a in addresses]
            extra = tuple(arg for a in more for arg in ("--listen", f"{a}:53"))
            probe = {"root": ".", "tld": "test", "sld_a": "example.test", "sld_b": "other.test"}
            servers.append(start_ours(work / level, work / "tree" / level, first, 53, None,
                                      extra, probe=probe[level]))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def start_unbound(work: Path, hints: Path, host: str, port: int, cpu: str) -> Server:
    folder = work / "unbound"
    folder.mkdir()
    config = folder / "unbound.conf"
    config.write_text(UNBOUND.format(host=host, port=port, hints=hints, tmp=folder))
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    log = folder / "out.log"
    proc = subprocess.Popen(["taskset", "-c", cpu, binary, "-d", "-c", str(config)],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    server = Server("unbound", host, port, proc, folder, log)
    wait_answering(host, port, "example.test", 30, proc)
    return server


def main() -> None:
    parser = options(__doc__.split("\n\n")[0])
    args = parser.parse_args()
    need("unbound", "dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    with tempfile.TemporaryDirectory(prefix="bench-recursion-") as tmp:
        work = Path(tmp)
        hints = copy_tree(work)
        queries = work / "queries.txt"
        queries.write_text("\n".join(QUESTIONS * 100) + "\n")
        tree = start_tree(work)
        started: list[Server] = []
        try:
            host, port = hostport(args.nsd)
            started.append(start_unbound(work, hints, host, port, args.server_cpu))
            host, port = hostport(args.ours)
            (work / "empty").mkdir()
            started.append(start_ours(work / "ours", work / "empty", host, port,
                                      args.server_cpu, ("--root-hints", str(hints)),
                                      probe="example.test", recursion=True))
            results: dict[str, list[Perf]] = {s.name: [] for s in started}
            for server in started:  # warm-up: fills the cache (the tree answers these)
                dnsperf(server, queries, None, passes=2, cpu=args.client_cpu,
                        percentiles=False)
            for round_no in range(args.rounds):
                for server in started if round_no % 2 == 0 else started[::-1]:
                    perf = dnsperf(server, queries, args.seconds, tcp=args.tcp,
                                   cpu=args.client_cpu, clients=args.clients,
                                   outstanding=args.outstanding)
                    results[server.name].append(perf)
                    print(f"round {round_no + 1} {line(server.name[:5], perf)} "
                          f"{perf.rcodes}", flush=True)
        finally:
            for server in started + tree:
                server.stop()
    report("recursion, cache hits", summary(results), "ours", "unbound")
    print(f"conditions at end: {conditions()}")


if __name__ == "__main__":
    main()
