"""A random-subdomain flood, ours vs NSD: ``<random>.bench.test A``, no name asked twice.

Such names miss our answer table (it replays questions seen before); they are answered by
``resolver/authority/negative.py``, or by the slow path without it. Each run gets its own
file of never-seen names, so a round cannot be helped by an earlier one; the warm-up pass
uses other names too (it only builds the zone's index and wakes the servers). Otherwise as
``auth_qps.py``: both servers pinned to one core, dnsperf to the other, alternating rounds.

    python -m bench.random_names --rounds 2 --seconds 5
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bench import gen_zone
from bench.auth_qps import line, options, report, start_both, summary
from bench.harness import Perf, conditions, dnsperf, need

NAMES_PER_RUN = 600_000  # more than either server answers in a short run


def write_names(path: Path, count: int, seed: int) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(f"r{rng.getrandbits(64):016x}.{gen_zone.ORIGIN} A\n"
                            for _ in range(count)))
    return path


def main() -> None:
    parser = options(__doc__.split("\n\n")[0])
    parser.add_argument("--per-run", type=int, default=NAMES_PER_RUN, help="names in each file")
    args = parser.parse_args()
    need("nsd", "dnsperf", "taskset")
    print(f"conditions at start: {conditions()}")
    with tempfile.TemporaryDirectory(prefix="bench-random-") as tmp:
        work = Path(tmp)
        nsd, ours, _ = start_both(work, args)
        try:
            servers = [ours, nsd]
            results: dict[str, list[Perf]] = {s.name: [] for s in servers}
            warm = write_names(work / "warm.txt", 2_000, 0)
            for server in servers:
                dnsperf(server, warm, None, passes=1, cpu=args.client_cpu, edns=args.edns,
                        percentiles=False)
            for round_no in range(args.rounds):
                for server in servers if round_no % 2 == 0 else servers[::-1]:
                    seed = 1 + round_no * len(servers) + servers.index(server)
                    names = write_names(work / "names.txt", args.per_run, seed)
                    perf = dnsperf(server, names, args.seconds, tcp=args.tcp,
                                   cpu=args.client_cpu, clients=args.clients,
                                   outstanding=args.outstanding, edns=args.edns)
                    results[server.name].append(perf)
                    print(f"round {round_no + 1} {line(server.name, perf)}  {perf.rcodes}",
                          flush=True)
        finally:
            ours.stop()
            nsd.stop()
    report(f"random names (NXDOMAIN), {args.rounds} rounds of {args.seconds:g} s",
           summary(results))
    print(f"conditions at end: {conditions()}")


if __name__ == "__main__":
    main()
