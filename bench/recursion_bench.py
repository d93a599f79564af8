"""Recursion, ours vs Unbound, on the offline test tree (tests/scenarios/tree.py).

    python -m bench.recursion_bench [--seconds 5] [--misses 200]

Measures, for each resolver started fresh on the same tree (never the real root: both get
tests/data/recursion/hints, and ours also runs with RESOLVER_UPSTREAM_LOOPBACK_ONLY):

- cold resolution: the first query for each name of a set of working cases (root -> TLD ->
  SLD, glueless and cross-zone chains included), median and worst;
- cache-miss latency: distinct wildcard names under an already known cut (one upstream
  query each), median and p90;
- cache-hit QPS: dnsperf for ``--seconds`` (bounded with -l) on names already cached.

The tree binds port 53 on 127.0.40.0-127.0.44.255, so it cannot run while the recursion
scenarios run. Unbound listens on 127.0.46.1:53.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Server, dnsperf, need
from tests.scenarios.cases import CASES, ask
from tests.scenarios.tree import DATA, HINTS, Tree
from tests.support.server import ResolverProcess
from tests.support.unbound import UnboundProcess

COLD = [c for c in CASES if c.rcode != "SERVFAIL" and "slow" not in c.qname
        and "flaky" not in c.qname and "half" not in c.qname]
HITS = [c for c in COLD if c.rcode == "NOERROR" and c.answer and "huge" not in c.qname
        and "big" not in c.qname]


def cold_latencies(host: str, port: int) -> list[float]:
    return [ask(host, port, c.qname, c.qtype, timeout=10)[1] for c in COLD]


def miss_latencies(host: str, port: int, count: int, tag: str) -> list[float]:
    ask(host, port, f"warm-{tag}.wild.test.", "A")
    return [ask(host, port, f"m{i}-{tag}.wild.test.", "A")[1] for i in range(count)]


def hit_qps(name: str, host: str, port: int, proc, seconds: float, workdir: Path  # type: ignore[no-untyped-def]
            ) -> float:
    for case in HITS:
        ask(host, port, case.qname, case.qtype)
    queries = workdir / "hits.txt"
    queries.write_text("".join(f"{c.qname} {c.qtype}\n" for c in HITS))
    server = Server(name, host, port, proc, workdir, workdir / "log")
    return dnsperf(server, queries, seconds, clients=4, outstanding=50).qps


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9) - 1] if ordered else 0.0
    return (f"median {statistics.median(values) * 1000:7.2f} ms  p90 {p90 * 1000:7.2f} ms  "
            f"max {max(values) * 1000:7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--misses", type=int, default=200)
    args = parser.parse_args()
    need("dnsperf", "unbound")
    workdir = Path(tempfile.mkdtemp(prefix="recursion-bench-"))
    results: dict[str, dict[str, object]] = {}
    tree = Tree()
    try:
        with ResolverProcess(workdir, "--root-hints", str(HINTS), recursion=True,
                             policies=DATA / "no-policies") as ours:
            results["ours"] = measure("ours", ours.host, ours.port, ours.proc, args, workdir)
        with UnboundProcess("127.0.46.1", 53, HINTS) as unbound:
            results["unbound"] = measure("unbound", unbound.host, unbound.port, unbound.proc,
                                         args, workdir)
    finally:
        tree.close()
    report(results)
    return 0


def measure(name: str, host: str, port: int, proc, args: argparse.Namespace,  # type: ignore[no-untyped-def]
            workdir: Path) -> dict[str, object]:
    started = time.monotonic()
    cold = cold_latencies(host, port)
    misses = miss_latencies(host, port, args.misses, name)
    qps = hit_qps(name, host, port, proc, args.seconds, workdir)
    print(f"{name}: measured in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return {"cold": cold, "misses": misses, "qps": qps}


def report(results: dict[str, dict[str, object]]) -> None:
    ours, theirs = results["ours"], results["unbound"]
    print(f"cold resolution ({len(COLD)} names, first query each):")
    for name, r in results.items():
        print(f"  {name:8} {ms(r['cold'])}")  # type: ignore[arg-type]
    print("cache miss under a known cut (distinct wildcard names):")
    for name, r in results.items():
        print(f"  {name:8} {ms(r['misses'])}")  # type: ignore[arg-type]
    print(f"cache-hit QPS (dnsperf, {len(HITS)} cached names):")
    for name, r in results.items():
        print(f"  {name:8} {r['qps']:10.0f} qps")
    cold_ratio = statistics.median(ours["cold"]) / statistics.median(theirs["cold"])  # type: ignore[arg-type]
    miss_ratio = statistics.median(ours["misses"]) / statistics.median(theirs["misses"])  # type: ignore[arg-type]
    qps_ratio = ours["qps"] / theirs["qps"] if theirs["qps"] else float("nan")  # type: ignore[operator]
    print(f"ratios ours/unbound: cold median {cold_ratio:.2f}x, miss median {miss_ratio:.2f}x, "
          f"hit QPS {qps_ratio:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
