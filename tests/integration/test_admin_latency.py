"""How long a PATCH takes, and how long until its change is in DNS: 1,000 sequential PATCHes
on a hand-written zone, each followed by a query for the changed name. Reported, not
asserted beyond correctness (timings depend on the machine and its load); run with ``-s``:

    python -m pytest -s tests/integration/test_admin_latency.py
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from resolver.authority.edit import serial_of
from resolver.authority.load import parse_zone_file
from tests.support.admin import TOKEN, AdminClient, upsert
from tests.support.server import ResolverProcess

PATCHES = int(os.environ.get("ADMIN_LATENCY_PATCHES", "1000"))
ZONE = (Path(__file__).resolve().parents[2] / "zones" / "example.test.zone").read_text()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_patch_latency_and_time_to_dns(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.test.zone").write_text(ZONE)
    (tmp_path / "policies").mkdir()
    with ResolverProcess(zones, policies=tmp_path / "policies",
                         env={"RESOLVER_API_TOKEN": TOKEN}) as server:
        api = AdminClient(server.admin_port)
        patch_ms: list[float] = []
        visible_ms: list[float] = []
        first_query_hits = 0
        for i in range(PATCHES):
            value = f"127.0.{i // 250}.{i % 250 + 1}"
            started = time.perf_counter()
            reply = api.patch("example.test", upsert("bench", value))
            acknowledged = time.perf_counter()
            assert reply.status == 200, reply.body
            queries = 0
            while True:
                queries += 1
                answer = server.query("bench.example.test.", "A")
                if {r.to_text() for rrset in answer.answer for r in rrset} == {value}:
                    break
            seen = time.perf_counter()
            first_query_hits += queries == 1
            patch_ms.append((acknowledged - started) * 1000)
            visible_ms.append((seen - started) * 1000)
        api.close()
    assert first_query_hits == PATCHES  # read-your-writes: always the first query after 200
    data = parse_zone_file(zones / "example.test.zone")
    assert serial_of(data) == 2026112801 + PATCHES
    report = {
        "patches": PATCHES,
        "patch_ms": {"p50": round(percentile(patch_ms, 0.50), 2),
                     "p99": round(percentile(patch_ms, 0.99), 2),
                     "mean": round(statistics.fmean(patch_ms), 2)},
        "patch_to_dns_answer_ms": {"p50": round(percentile(visible_ms, 0.50), 2),
                                   "p99": round(percentile(visible_ms, 0.99), 2)},
        "answered_by_the_first_query_after_200": f"{first_query_hits}/{PATCHES}",
        "zone_file_lines": len((zones / "example.test.zone").read_text().splitlines()),
    }
    print("\nadmin PATCH latency:", json.dumps(report, indent=1))
