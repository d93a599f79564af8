"""Authoritative throughput, ours vs NSD, on the same generated zone and query mix.

Both servers run at once, each pinned to CPU 0 (``--server-cpu``); dnsperf runs pinned to CPU 1
(``--client-cpu``) against one server at a time, for ``--seconds`` per round, the order of the
two alternating from round to round. Before the rounds, one pass of the query file warms
each server (ours fills its fast-path table from the slow path on first sight of a question).
Printed per round and as medians: QPS, average and p99 latency, lost queries, server
CPU-seconds and queries per CPU-second, then the ratios ours/NSD.

    python bench/auth_qps.py                  # UDP, 3 rounds of 10 s
    python bench/auth_qps.py --tcp            # the same over TCP (dnsperf -m tcp)
    python bench/auth_qps.py --ecs            # every query with ECS 192.0.2.0/24 (dnsperf -E)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench import gen_zone
from bench.harness import (
    Perf,
    Server,
    conditions,
    dnsperf,
    median,
    need,
    start_nsd,
    start_ours,
)


def options(description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--tcp", action="store_true", help="dnsperf -m tcp")
    parser.add_argument("--edns", action="store_true", help="queries carry EDNS (dnsperf -e)")
    parser.add_argument("--ecs", action="store_true",
                        help="queries carry ECS 192.0.2.0/24 (dnsperf -E, implies EDNS)")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c")
    parser.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="our --workers")
    parser.add_argument("--server-cpu", default="0", help="taskset list for each server")
    parser.add_argument("--client-cpu", default="1", help="taskset list for dnsperf")
    parser.add_argument("--nsd", default="127.0.60.1:53")
    parser.add_argument("--ours", default="127.0.60.2:53")
    parser.add_argument("--extra", default="", help="more flags for resolver serve")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def start_both(workdir: Path, args: argparse.Namespace) -> tuple[Server, Server, Path]:
    zones = workdir / "zones"
    zone, queries = gen_zone.write(zones, args.names)
    queries = queries.rename(workdir / "queries.txt")
    nsd_host, nsd_port = hostport(args.nsd)
    our_host, our_port = hostport(args.ours)
    extra = tuple(args.extra.split()) + ("--workers", str(args.workers))
    nsd = start_nsd(workdir / "nsd", {gen_zone.ORIGIN: zone}, nsd_host, nsd_port,
                    args.server_cpu)
    try:
        ours = start_ours(workdir / "ours", zones, our_host, our_port, args.server_cpu, extra)
    except BaseException:
        nsd.stop()
        raise
    return nsd, ours, queries


def line(name: str, perf: Perf) -> str:
    return (f"{name:5} {perf.qps:10.0f} qps  avg {perf.avg_ms:6.3f} ms  p99 {perf.p99_ms:6.3f} ms"
            f"  lost {perf.lost:6d}  cpu {perf.cpu_s:6.2f} s  {perf.per_cpu_second:9.0f} q/cpu-s")


def summary(results: dict[str, list[Perf]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, runs in results.items():
        out[name] = {
            "qps": median([r.qps for r in runs]),
            "avg_ms": median([r.avg_ms for r in runs]),
            "p99_ms": median([r.p99_ms for r in runs]),
            "per_cpu_second": median([r.per_cpu_second for r in runs]),
            "lost": sum(r.lost for r in runs),
            "sent": sum(r.sent for r in runs),
        }
    return out


def report(title: str, table: dict[str, dict[str, float]], a: str = "ours", b: str = "nsd") -> None:
    print(f"\n{title} (medians over rounds)")
    print(f"{'':5} {'QPS':>10} {'avg ms':>8} {'p99 ms':>8} {'q/CPU-s':>10} {'lost/sent':>16}")
    for name, row in table.items():
        lost = f"{int(row['lost'])}/{int(row['sent'])}"
        print(f"{name:5} {row['qps']:10.0f} {row['avg_ms']:8.3f} {row['p99_ms']:8.3f} "
              f"{row['per_cpu_second']:10.0f} {lost:>16}")
    x, y = table[a], table[b]
    print(f"ratio {a}/{b}: QPS {x['qps'] / y['qps']:.2f}x, "
          f"queries per CPU-second {x['per_cpu_second'] / y['per_cpu_second']:.2f}x, "
          f"avg latency {x['avg_ms'] / y['avg_ms']:.2f}x, p99 latency "
          f"{x['p99_ms'] / y['p99_ms'] if y['p99_ms'] else 0:.2f}x")


def run_rounds(servers: list[Server], queries: Path, args: argparse.Namespace
               ) -> dict[str, list[Perf]]:
    results: dict[str, list[Perf]] = {s.name: [] for s in servers}
    for server in servers:  # warm-up: one pass of the query file, not counted
        dnsperf(server, queries, None, tcp=args.tcp, passes=1, cpu=args.client_cpu,
                clients=args.clients, outstanding=args.outstanding, edns=args.edns,
                ecs=args.ecs, percentiles=False)
    for round_no in range(args.rounds):
        order = servers if round_no % 2 == 0 else servers[::-1]
        for server in order:
            perf = dnsperf(server, queries, args.seconds, tcp=args.tcp, cpu=args.client_cpu,
                           clients=args.clients, outstanding=args.outstanding, edns=args.edns,
                           ecs=args.ecs)
            results[server.name].append(perf)
            print(f"round {round_no + 1} {line(server.name, perf)}", flush=True)
            time.sleep(0.5)
    return results


def main() -> None:
    args = options().parse_args()
    need("nsd", "dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        nsd, ours, queries = start_both(Path(tmp), args)
        try:
            results = run_rounds([ours, nsd], queries, args)
        finally:
            ours.stop()
            nsd.stop()
    table = summary(results)
    mode = ("TCP" if args.tcp else "UDP") + (" with ECS" if args.ecs else "")
    report(f"authoritative {mode}, {args.rounds} rounds of {args.seconds:g} s, "
           f"our workers={args.workers}", table)
    print(f"conditions at end: {conditions()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"mode": mode, "summary": table}, indent=2))


if __name__ == "__main__":
    main()
