"""The routing service: policies on disk -> checks running -> router installed.

``start`` loads every policy file (problems are returned: fatal at startup), configures the
health board, runs one round of checks for new targets (so the first answers reflect them),
then installs the router and the policy-bound names with ``runtime.set_routing``. ``refresh``
(every second, and on SIGHUP) does the same when a policy file or a zone changed; a file
with problems is logged and its last good version keeps serving, exactly like zones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path

import dns.name

from resolver.authority.catalog import fingerprint
from resolver.authority.load import Problem
from resolver.authority.zone import Dynamic
from resolver.config.policies import PolicyFile, assemble, load_files, scan
from resolver.health.board import HealthBoard
from resolver.health.scheduler import Scheduler
from resolver.routing.explain import ExplainRequest, Explanation, explain
from resolver.routing.geomap import GeoDB
from resolver.routing.router import Router
from resolver.routing.spec import PolicySet

log = logging.getLogger("resolver.routing")
POLL_SECONDS = 1.0
DynamicByZone = dict[dns.name.Name, dict[dns.name.Name, dict[int, Dynamic]]]


def dynamic_entries(policies: PolicySet) -> DynamicByZone:
    """The ``Dynamic`` placeholders to put in each zone, one per policy-bound name and type."""
    out: DynamicByZone = {}
    for (name, rdtype), record in policies.records.items():
        node = out.setdefault(record.zone, {}).setdefault(name, {})
        node[rdtype] = Dynamic(name, rdtype, record.ttl)
    return out


class RoutingService:
    def __init__(self, runtime: object, policies_dir: str | Path | None,
                 geoip_db: str | None = None) -> None:
        self.runtime = runtime
        self.directory = Path(policies_dir) if policies_dir else None
        self.geoip_db = geoip_db
        self.geo: GeoDB | None = None
        self.board = HealthBoard()
        self.scheduler = Scheduler(self.board)
        self.files: dict[str, PolicyFile] = {}
        self.policies = PolicySet()
        self.router: Router | None = None
        self._seen: object = None
        self._logged: set[str] = set()
        self._dynamic: DynamicByZone = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> list[Problem]:
        """Load and install every policy; problems mean nothing was installed."""
        if self.geoip_db:
            try:
                self.geo = GeoDB(self.geoip_db)
            except Exception as exc:
                return [Problem(self.geoip_db, 1, f"cannot read the GeoIP database: {exc}")]
        problems = await self.refresh(strict=True)
        if not problems:
            self._task = asyncio.create_task(self._watch())
        return problems

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.exception("policy reload failed; the last good policies keep serving")

    def _state(self) -> object:
        zones = self.runtime.zone_data()  # type: ignore[attr-defined]
        files = [str(p) for p in scan(self.directory)]
        return (fingerprint(files), tuple(sorted((str(o), id(d)) for o, d in zones.items())))

    async def refresh(self, strict: bool = False, force: bool = False) -> list[Problem]:
        """Reload if a policy file or a zone changed (or ``force``); return the problems."""
        async with self._lock:
            state = self._state()
            if state == self._seen and not force:
                return []
            zones = self.runtime.zone_data()  # type: ignore[attr-defined]
            files, problems = load_files(scan(self.directory), zones,
                                         {} if strict else self.files)
            self._seen = state
            if strict and problems:
                return problems
            self._log(problems)
            policies = assemble(files.values())
            self.files = files
            if policies != self.policies or self.router is None or force:
                await self.install(policies)
            return problems

    def _log(self, problems: list[Problem]) -> None:
        current = {str(p) for p in problems}
        for text in sorted(current - self._logged):
            log.error("policy rejected, the last good version keeps serving: %s", text)
        self._logged = current

    async def install(self, policies: PolicySet) -> None:
        targets = self.board.configure(policies.pools())
        await self.scheduler.apply(targets)
        previous = self.router
        self.policies = policies
        self.router = Router(policies, lambda: self.board.snapshot, self.geo,
                             wrr=previous.wrr if previous is not None else None)
        self._dynamic = _reuse(self._dynamic, dynamic_entries(policies))
        self.runtime.set_routing(self.router, self._dynamic)  # type: ignore[attr-defined]
        log.info("policies loaded: %d name(s), %d pool(s), %d check target(s)",
                 len(policies.records), len(policies.pools()), len(targets))

    def explain(self, request: ExplainRequest) -> Explanation:
        """``POST /explain``: the live zones and health, or what-if with ``request.down``."""
        snapshot = self.runtime.snapshot  # type: ignore[attr-defined]
        return explain(snapshot.zones, self.policies, self.board.snapshot, self.geo, request,
                       time.time(), self.router.wrr if self.router else None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.scheduler.close()
        if self.geo is not None:
            self.geo.close()


def _reuse(old: Mapping[dns.name.Name, dict], new: DynamicByZone) -> DynamicByZone:
    """Keep the old mapping object of a zone whose bindings did not change, so the runtime
    does not rebuild that zone."""
    return {zone: old[zone] if old.get(zone) == names else names for zone, names in new.items()}
