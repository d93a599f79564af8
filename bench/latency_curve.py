"""Latency against throughput: p50 and p99 at stepped offered loads, ours and NSD, one chart.

For each offered rate (dnsperf ``-Q``), each server in turn (order alternating) gets
``--seconds`` of the generated query mix, ``--rounds`` times; the achieved QPS and the
p50/p99 latency of every answer (from dnsperf's per-query lines) are recorded, and the
median of the rounds kept. The chart (PNG) draws p50 and p99 against achieved QPS for both
servers. The report names, for each, the highest offered rate that the server kept up with
(achieved >= 98% of offered, nothing lost) with p99 under 1 ms, and the highest rate up to
which every step did.

    python -m bench.latency_curve --out bench/results/latency.png
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.auth_qps import options, start_both
from bench.harness import Perf, conditions, dnsperf, median, need

DEFAULT_RATES = ("5000,10000,20000,30000,40000,50000,60000,70000,80000,90000,100000,110000,"
                 "120000,130000,140000")
P99_LIMIT_MS = 1.0


def run(args: object) -> dict[str, list[tuple[int, Perf]]]:
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        nsd, ours, queries = start_both(Path(tmp), args)  # type: ignore[arg-type]
        servers = [ours, nsd]
        curves: dict[str, list[tuple[int, Perf]]] = {s.name: [] for s in servers}
        try:
            for server in servers:  # warm-up, not counted
                dnsperf(server, queries, None, passes=1, cpu=args.client_cpu,  # type: ignore
                        percentiles=False)
            for step, rate in enumerate(int(r) for r in args.rates.split(",")):  # type: ignore
                runs: dict[str, list[Perf]] = {s.name: [] for s in servers}
                for turn in range(args.rounds):  # type: ignore
                    for server in servers if (step + turn) % 2 == 0 else servers[::-1]:
                        perf = dnsperf(server, queries, args.seconds, qps=rate,  # type: ignore
                                       tcp=args.tcp, cpu=args.client_cpu,  # type: ignore
                                       clients=args.clients,  # type: ignore
                                       outstanding=args.outstanding)  # type: ignore
                        runs[server.name].append(perf)
                        print(f"offered {rate:7d}  {server.name:4}  achieved {perf.qps:8.0f}  "
                              f"p50 {perf.p50_ms:6.3f} ms  p99 {perf.p99_ms:6.3f} ms  "
                              f"lost {perf.lost}", flush=True)
                for name, done in runs.items():
                    curves[name].append((rate, _median_perf(done)))
        finally:
            ours.stop()
            nsd.stop()
    return curves


def _median_perf(runs: list[Perf]) -> Perf:
    """Per field, the median of the rounds (losses: the sum)."""
    return Perf(qps=median([r.qps for r in runs]), p50_ms=median([r.p50_ms for r in runs]),
                p99_ms=median([r.p99_ms for r in runs]), avg_ms=median([r.avg_ms for r in runs]),
                lost=sum(r.lost for r in runs), sent=sum(r.sent for r in runs))


def _good(rate: int, perf: Perf) -> bool:
    return perf.p99_ms < P99_LIMIT_MS and perf.lost == 0 and perf.qps >= 0.98 * rate


def best_rate(points: list[tuple[int, Perf]]) -> int:
    """The highest offered rate kept up with (achieved >= 98%, nothing lost) with p99 under
    the limit (0: none)."""
    return max((rate for rate, perf in points if _good(rate, perf)), default=0)


def sustained_rate(points: list[tuple[int, Perf]]) -> int:
    """The highest rate up to which every step was good."""
    best = 0
    for rate, perf in sorted(points, key=lambda point: point[0]):
        if not _good(rate, perf):
            break
        best = rate
    return best


def draw(curves: dict[str, list[tuple[int, Perf]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    colors = {"ours": "tab:blue", "nsd": "tab:orange"}
    for name, points in curves.items():
        achieved = [perf.qps for _, perf in points]
        color = colors.get(name, "tab:gray")
        ax.plot(achieved, [perf.p50_ms for _, perf in points], "o--", color=color,
                label=f"{name} p50")
        ax.plot(achieved, [perf.p99_ms for _, perf in points], "s-", color=color,
                label=f"{name} p99")
    ax.axhline(P99_LIMIT_MS, color="gray", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("achieved queries per second")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = options(__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default=DEFAULT_RATES, help="offered rates (dnsperf -Q)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/latency.png"))
    parser.set_defaults(seconds=4, rounds=2)
    args = parser.parse_args()
    need("nsd", "dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    curves = run(args)
    mode = "TCP" if args.tcp else "UDP"
    draw(curves, args.out, f"authoritative {mode}: latency against throughput, one core each")
    for name, points in curves.items():
        print(f"{name}: highest offered rate kept up with, p99 < {P99_LIMIT_MS:g} ms, no loss: "
              f"{best_rate(points)} QPS; every step up to {sustained_rate(points)} QPS")
    print(f"chart: {args.out}")
    print(f"conditions at end: {conditions()}")
    if args.json:
        table = {name: [{"offered": rate, "qps": p.qps, "p50_ms": p.p50_ms, "p99_ms": p.p99_ms,
                         "lost": p.lost} for rate, p in points]
                 for name, points in curves.items()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
