"""Generate the benchmark zone and a dnsperf query file, deterministically.

The zone ``bench.test.`` has about 10,000 names: hosts with A and AAAA, IPv4-only hosts (for
NODATA), names with MX (in-zone exchanges, so answers carry additional data), CNAMEs to hosts,
a wildcard and delegations with glue. It uses only plain master-file syntax (no ``$GENERATE``)
so NSD, Knot and our server read the same file.

The query mix (``--queries`` lines, names drawn from fixed pools so a run has a bounded set of
distinct questions, as a real zone's traffic has):

- 70% A/AAAA: 60% hosts (half A, half AAAA), 5% wildcard names (A), 5% referrals (A below a
  delegation);
- 10% MX; 10% A on a CNAME (answer: the CNAME and the target's A); 5% NXDOMAIN; 5% NODATA
  (AAAA of an IPv4-only host).

    python bench/gen_zone.py --out bench/results/data     # writes bench.test.zone, queries.txt
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

ORIGIN = "bench.test"
MIX = (  # (share in percent, kind)
    (30, "host-a"), (30, "host-aaaa"), (5, "wildcard"), (5, "referral"),
    (10, "mx"), (10, "cname"), (5, "nxdomain"), (5, "nodata"),
)


def sizes(names: int) -> dict[str, int]:
    """How many names of each kind make up a zone of about ``names`` names."""
    return {
        "host": int(names * 0.60),
        "v4only": int(names * 0.08),
        "mx": int(names * 0.10),
        "mail": max(1, int(names * 0.01)),
        "alias": int(names * 0.15),
        "sub": max(1, int(names * 0.02)),
    }


def zone_lines(names: int = 10_000, origin: str = ORIGIN) -> list[str]:
    n = sizes(names)
    out = [
        f"$ORIGIN {origin}.",
        "$TTL 3600",
        f"@ IN SOA ns1.{origin}. hostmaster.{origin}. 2026010101 7200 3600 1209600 300",
        "@ NS ns1",
        "@ NS ns2",
        "@ MX 10 mail0",
        "@ A 127.0.60.200",
        "ns1 A 127.0.60.201",
        "ns2 A 127.0.60.202",
        "*.wild A 127.0.60.203",
        "*.wild AAAA 2001:db8::203",
    ]
    for i in range(n["host"]):
        out.append(f"host{i} A 127.{64 + (i >> 16 & 63)}.{i >> 8 & 255}.{i & 255}")
        high = f"{i >> 16:x}:" if i >> 16 else ""  # canonical text: no lone zero group
        out.append(f"host{i} AAAA 2001:db8::{high}{i & 0xFFFF:x}")
    for i in range(n["v4only"]):
        out.append(f"v4only{i} A 127.200.{i >> 8 & 255}.{i & 255}")
    for i in range(n["mail"]):
        out.append(f"mail{i} A 127.201.{i >> 8 & 255}.{i & 255}")
        out.append(f"mail{i} AAAA 2001:db8:1::{i:x}")
    for i in range(n["mx"]):
        out.append(f"mx{i} MX 10 mail{i % n['mail']}")
        out.append(f"mx{i} MX 20 mail{(i + 1) % n['mail']}")
    for i in range(n["alias"]):
        out.append(f"alias{i} CNAME host{(i * 7) % n['host']}")
    for i in range(n["sub"]):
        out.append(f"sub{i} NS ns.sub{i}")
        out.append(f"ns.sub{i} A 127.202.{i >> 8 & 255}.{i & 255}")
    return out


def query_lines(
    count: int = 100_000, names: int = 10_000, origin: str = ORIGIN, seed: int = 6
) -> list[str]:
    """``count`` dnsperf lines (``name TYPE``) in the documented mix, shuffled by ``seed``."""
    n = sizes(names)
    rng = random.Random(seed)
    pool = 1000  # distinct names for the kinds that are not in the zone (wildcard, NXDOMAIN)

    def make(kind: str) -> str:
        if kind == "host-a":
            return f"host{rng.randrange(n['host'])}.{origin} A"
        if kind == "host-aaaa":
            return f"host{rng.randrange(n['host'])}.{origin} AAAA"
        if kind == "wildcard":
            return f"w{rng.randrange(pool)}.wild.{origin} A"
        if kind == "referral":
            return f"www.sub{rng.randrange(n['sub'])}.{origin} A"
        if kind == "mx":
            return f"mx{rng.randrange(n['mx'])}.{origin} MX"
        if kind == "cname":
            return f"alias{rng.randrange(n['alias'])}.{origin} A"
        if kind == "nxdomain":
            return f"nx{rng.randrange(pool)}.{origin} A"
        return f"v4only{rng.randrange(n['v4only'])}.{origin} AAAA"

    kinds = [kind for share, kind in MIX for _ in range(share)]
    lines = [make(kinds[i % 100]) for i in range(count)]
    rng.shuffle(lines)
    return lines


def write(out: Path, names: int = 10_000, queries: int = 100_000) -> tuple[Path, Path]:
    """Write ``bench.test.zone`` and ``queries.txt`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    zone = out / f"{ORIGIN}.zone"
    zone.write_text("\n".join(zone_lines(names)) + "\n")
    query_file = out / "queries.txt"
    query_file.write_text("\n".join(query_lines(queries, names)) + "\n")
    return zone, query_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/data"))
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100_000)
    args = parser.parse_args()
    zone, queries = write(args.out, args.names, args.queries)
    print(f"wrote {zone} and {queries}")


if __name__ == "__main__":
    main()
