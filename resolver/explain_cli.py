"""``resolver explain NAME [TYPE] --client IP [--ecs SUBNET] [--down MEMBER]...``

Loads the zones and policies from disk, probes every health-check target once (unless
``--no-checks``; members then count as up), and prints the answer with its decision trace.
``--down`` takes a value (``127.0.0.21``) or ``<pool id>/<value>`` and answers as if that
member were down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import dns.name

from resolver.authority.catalog import load_zone_file, scan
from resolver.authority.check import build_zone
from resolver.authority.load import ZoneData
from resolver.authority.store import ZoneStore
from resolver.config.policies import load_directory
from resolver.config.schema import ServerConfig
from resolver.health.board import HealthBoard
from resolver.health.scheduler import Scheduler
from resolver.routing.explain import ExplainError, ExplainRequest, explain
from resolver.routing.geomap import GeoDB
from resolver.routing.service import dynamic_entries


def run_explain(config: ServerConfig, args: argparse.Namespace) -> int:
    logging.getLogger("resolver").setLevel(logging.ERROR)  # the trace says it all
    zones: dict[dns.name.Name, ZoneData] = {}
    for path in scan(Path(config.zones)):
        result = load_zone_file(path)
        for problem in result.problems:
            print(f"warning: {problem} (zone not used)", file=sys.stderr)
        if result.data is not None:
            zones[result.data.origin] = result.data
    policies, problems = load_directory(config.policies, zones)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    geo = GeoDB(config.geoip_db) if config.geoip_db else None
    board = HealthBoard()
    targets = board.configure(policies.pools())
    if targets and not getattr(args, "no_checks", False):
        asyncio.run(_one_round(board, list(targets)))
    dynamic = dynamic_entries(policies)
    store = ZoneStore({o: build_zone(d, dynamic.get(o)) for o, d in zones.items()})
    request = ExplainRequest(args.name, args.client, args.type, args.ecs, tuple(args.down))
    try:
        answer = explain(store, policies, board.snapshot, geo, request)
    except ExplainError as exc:
        print(f"resolver explain: {exc.field}: {exc}", file=sys.stderr)
        return 1
    print(answer.text())
    return 0


async def _one_round(board: HealthBoard, targets: list) -> None:  # type: ignore[type-arg]
    scheduler = Scheduler(board)
    try:
        await asyncio.gather(*(scheduler.probe(t) for t in targets))
    finally:
        await scheduler.close()
