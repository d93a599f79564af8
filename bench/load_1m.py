"""A zone of a million records: load time, memory, and answers for other zones during a reload.

Generates ``big.test`` (about 1,000,000 records: A, AAAA, MX, CNAME, NS and glue, from
``gen_zone``) and a small ``small.test``, starts our server on them (pinned to one CPU), and
reports:

- load: seconds from process start to the first answer from ``big.test``, and the peak
  resident memory (VmHWM) of the server process at that point;
- reload: the zone file is rewritten with a new serial; while the server reloads it, a
  client asks ``small.test`` one query at a time and records every round trip. Printed: how
  long the reload took (until the new serial is served), how many queries were answered and
  lost, p50/p99/max round trip, the longest times without an answer (the probe goes on for
  ``--after`` seconds once the new serial is served: the old zone is freed then), and the
  peak memory.

    python -m bench.load_1m                  # ~1M records
    python -m bench.load_1m --records 200000 # smaller, quicker
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.rdatatype

from bench import gen_zone
from bench.harness import conditions, memory_bytes, start_ours

RECORDS_PER_NAME = 1.69  # what gen_zone.zone_lines writes per name, on average


def write_zones(zones: Path, records: int, serial: int = 2026010101) -> int:
    zones.mkdir(parents=True, exist_ok=True)
    lines = gen_zone.zone_lines(int(records / RECORDS_PER_NAME), "big.test")
    lines[2] = lines[2].replace("2026010101", str(serial))
    (zones / "big.test.zone").write_text("\n".join(lines) + "\n")
    (zones / "small.test.zone").write_text("\n".join(gen_zone.zone_lines(200, "small.test")))
    return sum(1 for line in lines if not line.startswith("$"))


def serial_of(host: str, port: int, zone: str) -> int | None:
    query = dns.message.make_query(zone, "SOA")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(query.to_wire(), (host, port))
            reply = dns.message.from_wire(sock.recv(4096))
        except (OSError, dns.exception.DNSException):
            return None
    for rrset in reply.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def probe_during_reload(host: str, port: int, new_serial: int, limit: float, after: float
                        ) -> dict[str, float]:
    """Ask small.test one query at a time until big.test serves ``new_serial``, then for
    ``after`` seconds more: the old zone is freed after the swap, and that must not pause
    answers either. Gaps are timed from one answer to the next (a lost query is inside one)."""
    query = dns.message.make_query("host1.small.test", "A")
    wire = bytearray(query.to_wire())
    rtts: list[float] = []
    lost = 0
    start = last_answer = time.monotonic()
    gaps: list[tuple[float, float]] = []  # (gap, when it ended), the longest kept
    next_serial_check = start
    done_at = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect((host, port))
        query_id = 0
        while time.monotonic() - start < limit and (
            done_at is None or time.monotonic() - done_at < after
        ):
            query_id = (query_id + 1) & 0xFFFF
            wire[0:2] = query_id.to_bytes(2, "big")
            sent = time.monotonic()
            sock.send(wire)
            try:
                while True:
                    reply = sock.recv(4096)
                    if reply[:2] == wire[:2]:
                        break
            except OSError:
                lost += 1
                continue
            now = time.monotonic()
            rtts.append(now - sent)
            gaps.append((now - last_answer, now))
            if len(gaps) > 64:
                gaps.sort(reverse=True)
                del gaps[8:]
            last_answer = now
            if done_at is None and now >= next_serial_check:
                next_serial_check = now + 0.25
                if serial_of(host, port, "big.test") == new_serial:
                    done_at = now
            time.sleep(0.001)
    rtts.sort()
    gaps.sort(reverse=True)
    swap = done_at if done_at is not None else float("nan")

    def pct(p: float) -> float:
        return rtts[min(len(rtts) - 1, int(len(rtts) * p))] * 1000 if rtts else 0.0

    return {
        "reload_s": swap - start,
        "answered": len(rtts), "lost": lost, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
        "max_ms": rtts[-1] * 1000 if rtts else 0.0,
        # (length in ms, seconds from the new serial seen to the gap's end), longest first
        "gaps": [(gap * 1000, end - swap) for gap, end in gaps[:3]],
    }


def report(result: dict[str, Any], after: float) -> str:
    gaps = ", ".join(f"{ms:.0f} ms ({at:+.1f} s)" for ms, at in result["gaps"])
    return (
        f"reload: new serial served after {result['reload_s']:.1f} s; small.test meanwhile "
        f"and {after:.0f} s after: {result['answered']:.0f} answered, {result['lost']:.0f} "
        f"lost, rtt p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, max "
        f"{result['max_ms']:.0f} ms\n"
        f"reload: LONGEST GAP without an answer {result['gaps'][0][0]:.0f} ms; longest three "
        f"(time of their end from the new serial): {gaps}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--listen", default="127.0.60.3:53")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--after", type=float, default=5.0,
                        help="seconds to keep asking after the swap (the old zone is freed)")
    args = parser.parse_args()
    host, _, port_text = args.listen.rpartition(":")
    port = int(port_text)
    print(f"conditions at start: {conditions()}")
    with tempfile.TemporaryDirectory(prefix="bench-1m-") as tmp:
        work = Path(tmp)
        zones = work / "zones"
        count = write_zones(zones, args.records)
        size = (zones / "big.test.zone").stat().st_size / 2**20
        print(f"big.test: {count} records, {size:.0f} MiB of zone file")
        started = time.monotonic()
        server = start_ours(work / "ours", zones, host, port, args.server_cpu,
                            probe="big.test", timeout=args.timeout)
        try:
            load_s = time.monotonic() - started
            peak = memory_bytes(server.pid) / 2**20
            print(f"load: {load_s:.1f} s to the first answer, peak RSS {peak:.0f} MiB, "
                  f"RSS now {memory_bytes(server.pid, 'VmRSS') / 2**20:.0f} MiB")
            time.sleep(1.5)
            write_zones(zones, args.records, serial=2026010102)
            result = probe_during_reload(host, port, 2026010102, args.timeout, args.after)
            print(report(result, args.after))
            print(f"reload: peak RSS {memory_bytes(server.pid) / 2**20:.0f} MiB, RSS after "
                  f"{memory_bytes(server.pid, 'VmRSS') / 2**20:.0f} MiB")
        finally:
            server.stop()
    print(f"conditions at end: {conditions()}")


if __name__ == "__main__":
    main()
