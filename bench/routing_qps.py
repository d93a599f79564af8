"""QPS of policy-routed answers vs static answers, on our server (the target: >= 0.5x).

One server on 127.0.60.5 serves a zone with a static name and a policy-routed name (smooth
weighted round robin over two values, behind a subnet rule and a catch-all, members
``status: up`` so no probe traffic muddies the figure). dnsperf asks one name at a time, for
``--seconds`` per round, alternating. Static answers come from the fast path's prebuilt wire
bytes; routed answers are computed per query (they are not cacheable).

    python -m bench.routing_qps                 # 3 rounds of 5 s
    python -m bench.routing_qps --seconds 10 --rounds 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.harness import conditions, dnsperf, median, need, start_ours

ZONE = """$ORIGIN bench.test.
$TTL 300
@       SOA ns1 hostmaster ( 1 3600 600 86400 60 )
        NS  ns1
ns1     A   127.0.60.53
static  A   127.0.60.80
"""
POLICY = """
routed:
  type: A
  ttl: 30
  values: [127.0.60.99]
  dynamic:
    pools:
      lan:
        values: [{value: 127.0.60.11, status: up}]
      main:
        values:
          - {value: 127.0.60.21, weight: 3, status: up}
          - {value: 127.0.60.22, weight: 1, status: up}
    rules:
      - subnets: [10.0.0.0/8]
        pool: lan
      - pool: main
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--host", default="127.0.60.5")
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    need("dnsperf", "taskset")
    with tempfile.TemporaryDirectory(prefix="routing-qps-") as tmp:
        work = Path(tmp)
        zones, policies = work / "zones", work / "policies"
        zones.mkdir()
        policies.mkdir()
        (zones / "bench.test.zone").write_text(ZONE)
        (policies / "bench.test.yaml").write_text(POLICY)
        files = {}
        for name in ("static", "routed"):
            files[name] = work / f"{name}.queries"
            files[name].write_text(f"{name}.bench.test A\n")
        server = start_ours(work / "ours", zones, host=args.host, port=args.port,
                            extra=("--policies", str(policies)))
        try:
            print(f"# {conditions()}; server on CPU 0, dnsperf on CPU 1")
            results: dict[str, list[float]] = {"static": [], "routed": []}
            for name in results:  # warm up (the fast path learns the static question)
                dnsperf(server, files[name], 1, percentiles=False)
            for round_no in range(args.rounds):
                order = ["static", "routed"] if round_no % 2 == 0 else ["routed", "static"]
                for name in order:
                    perf = dnsperf(server, files[name], args.seconds, percentiles=False)
                    results[name].append(perf.qps)
                    print(f"round {round_no + 1} {name:6s} {perf.qps:10.0f} qps "
                          f"avg {perf.avg_ms:.2f} ms lost {perf.lost} rcodes {perf.rcodes}")
        finally:
            server.stop()
    static, routed = median(results["static"]), median(results["routed"])
    # Each round's two runs are back to back: their ratio is the least disturbed by whatever
    # else the machine is doing; the median of those is the figure to quote.
    ratios = [r / s for r, s in zip(results["routed"], results["static"], strict=True)]
    print(f"median static {static:.0f} qps, routed {routed:.0f} qps; median of per-round "
          f"routed/static ratios {median(ratios):.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
