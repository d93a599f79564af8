"""Policy-routed answers against static ones, on our server: QPS, latency, CPU per query.

The generated zone ``bench.test`` gets a policy file with ``--routed`` names ``r0..``: an
octoDNS dynamic A record each, with two pools (a weighted pair for a subnet rule, an
``all`` pair as the catch-all), every member ``status: up`` (no health checks to run), so
each query runs the routing decision. The same server is measured on two query files in
alternating rounds: A questions for static names (``host<i>``) and for routed names
(``r<i>``). The target is routed QPS >= 0.5x static.

    python -m bench.routed_qps
    python -m bench.routed_qps --ecs    # every query with ECS 192.0.2.0/24 (dnsperf -E)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import dns.message
import dns.query

from bench import gen_zone
from bench.auth_qps import hostport, line, options, report, summary
from bench.harness import Perf, conditions, dnsperf, need, start_ours

POLICY = """r{i}:
  type: A
  ttl: 60
  values: [127.0.70.1]
  dynamic:
    pools:
      eu:
        values:
          - {{value: 127.0.70.2, weight: 3, status: up}}
          - {{value: 127.0.70.3, weight: 1, status: up}}
      na:
        values:
          - {{value: 127.0.70.4, weight: 1, status: up}}
          - {{value: 127.0.70.5, weight: 1, status: up}}
    rules:
      - subnets: [10.9.0.0/16]
        pool: eu
      - pool: na
"""


def write(work: Path, names: int, routed: int, count: int = 50_000) -> tuple[Path, Path, Path]:
    zones, policies = work / "zones", work / "policies"
    gen_zone.write(zones, names)
    (zones / "queries.txt").unlink()
    policies.mkdir(parents=True, exist_ok=True)
    (policies / "bench.test.yaml").write_text("".join(POLICY.format(i=i) for i in range(routed)))
    hosts = gen_zone.sizes(names)["host"]
    static = work / "static.txt"
    static.write_text("".join(f"host{(i * 7919) % hosts}.bench.test A\n" for i in range(count)))
    routed_file = work / "routed.txt"
    routed_file.write_text("".join(f"r{(i * 7919) % routed}.bench.test A\n"
                                   for i in range(count)))
    return zones, policies, routed_file


def main() -> None:
    parser = options(__doc__.split("\n\n")[0])
    parser.add_argument("--routed", type=int, default=100, help="routed names")
    args = parser.parse_args()
    need("dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    host, port = hostport(args.ours)
    with tempfile.TemporaryDirectory(prefix="bench-routed-") as tmp:
        work = Path(tmp)
        zones, policies, routed_file = write(work, args.names, args.routed)
        server = start_ours(work / "ours", zones, host, port, args.server_cpu,
                            ("--workers", str(args.workers)), policies=policies)
        try:
            seen = {dns.query.udp(dns.message.make_query("r1.bench.test", "A"), host, port=port,
                                  timeout=2).answer[0][0].address for _ in range(8)}
            print(f"r1.bench.test A over 8 queries: {sorted(seen)}")
            files = {"static": work / "static.txt", "routed": routed_file}
            for path in files.values():
                dnsperf(server, path, None, passes=1, cpu=args.client_cpu, ecs=args.ecs,
                        percentiles=False)
            results: dict[str, list[Perf]] = {name: [] for name in files}
            for round_no in range(args.rounds):
                order = list(files.items())
                for name, path in order if round_no % 2 == 0 else order[::-1]:
                    perf = dnsperf(server, path, args.seconds, tcp=args.tcp,
                                   cpu=args.client_cpu, clients=args.clients,
                                   outstanding=args.outstanding, edns=args.edns, ecs=args.ecs)
                    results[name].append(perf)
                    print(f"round {round_no + 1} {line(name[:5], perf)}", flush=True)
        finally:
            server.stop()
    report("ours: policy-routed vs static A answers" + (", with ECS" if args.ecs else ""),
           summary(results), "routed", "static")
    print(f"conditions at end: {conditions()}")


if __name__ == "__main__":
    main()
