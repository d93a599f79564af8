"""Which UDP receive loop answers fastest: the server's own against the alternatives.

Four servers on the same generated zone, each pinned to CPU 0 in turn-taking rounds:

- ``drain``: the server as shipped (uvloop's ``add_reader`` on the non-blocking socket,
  draining up to 64 datagrams a wake-up, the fast path's tables read inline);
- ``asyncio``: the same code on the standard library's event loop;
- ``protocol``: an asyncio ``DatagramProtocol`` on uvloop, the exact level read inside
  ``datagram_received`` (the server's loop before; ``bench/udp_variants.py``);
- ``thread``: a plain blocking ``recvfrom``/``sendto`` loop in a dedicated thread, misses
  handed to the event loop (``bench/udp_variants.py``).

Printed: QPS at saturation and CPU per query at a fixed offered rate (``--rate``), where a
loop that wakes up more often costs more.

    python -m bench.udp_loops
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import gen_zone
from bench.auth_qps import options
from bench.harness import Perf, Server, conditions, dnsperf, median, need, start_ours

MODES = ("drain", "asyncio", "protocol", "thread")


def main() -> None:
    parser = options(__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=40_000, help="the fixed offered rate")
    parser.set_defaults(seconds=5, rounds=2)
    args = parser.parse_args()
    need("dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    saturated: dict[str, list[Perf]] = {m: [] for m in MODES}
    fixed: dict[str, list[Perf]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-loops-") as tmp:
        work = Path(tmp)
        zones = work / "zones"
        _, queries = gen_zone.write(zones, args.names)
        queries = queries.rename(work / "queries.txt")
        servers: list[Server] = []
        try:
            for index, mode in enumerate(MODES):
                server = start_ours(work / mode, zones, f"127.0.60.{20 + index}", 53,
                                    args.server_cpu,
                                    launcher=("-m", "bench.udp_variants", mode))
                server.name = mode
                servers.append(server)
                dnsperf(server, queries, None, passes=1, cpu=args.client_cpu,
                        percentiles=False)
            for round_no in range(args.rounds):
                for server in servers if round_no % 2 == 0 else servers[::-1]:
                    for rate, table in ((None, saturated), (args.rate, fixed)):
                        perf = dnsperf(server, queries, args.seconds, qps=rate,
                                       cpu=args.client_cpu, clients=args.clients,
                                       outstanding=args.outstanding)
                        table[server.name].append(perf)
                        print(f"round {round_no + 1} {server.name:8} offered {rate or 'max'}: "
                              f"{perf.qps:8.0f} qps, p99 {perf.p99_ms:.3f} ms, "
                              f"{perf.per_cpu_second:8.0f} q/cpu-s, lost {perf.lost}",
                              flush=True)
        finally:
            for server in servers:
                server.stop()
    print(f"\n{'loop':8} {'max QPS':>9} {'q/CPU-s at max':>15} "
          f"{'q/CPU-s at ' + str(args.rate):>18} {'p99 ms at ' + str(args.rate):>16}")
    for mode in MODES:
        print(f"{mode:8} {median([p.qps for p in saturated[mode]]):9.0f} "
              f"{median([p.per_cpu_second for p in saturated[mode]]):15.0f} "
              f"{median([p.per_cpu_second for p in fixed[mode]]):18.0f} "
              f"{median([p.p99_ms for p in fixed[mode]]):16.3f}")
    print(f"conditions at end: {conditions()}")


if __name__ == "__main__":
    main()
