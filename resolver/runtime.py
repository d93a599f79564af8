"""The one mutable cell: the current frozen :class:`Snapshot`, replaced whole.

A query reads ``runtime.snapshot`` once and uses that object from start to end. Changes
(a zone file edited, a policy loaded, an API edit) build a new snapshot beside the old one and
swap the reference; listeners (the fast-path table, workers) are told after the swap. A change
that fails its checks is reported and the old snapshot keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import dns.name

from resolver.authority.catalog import (
    Fingerprint,
    LoadResult,
    fingerprint,
    load_zone_file,
    scan,
)
from resolver.authority.check import build_zone
from resolver.authority.fastload import gc_paused
from resolver.authority.load import Problem, ZoneData
from resolver.authority.stage import Router
from resolver.authority.store import ZoneStore
from resolver.authority.zone import Dynamic, Zone
from resolver.reaper import release_later

log = logging.getLogger("resolver.runtime")

DynamicNames = Mapping[dns.name.Name, Mapping[int, Dynamic]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int
    zones: ZoneStore
    router: Router | None = None
    loaded_at: float = field(default_factory=time.time)


@dataclass(slots=True)
class _ZoneFile:
    """The last good parse of one zone file, and what its file looked like then."""

    data: ZoneData
    fingerprint: Fingerprint


class Runtime:
    def __init__(self, zones_dir: Path | None = None) -> None:
        self.zones_dir = zones_dir
        self.snapshot = Snapshot(0, ZoneStore())
        self._files: dict[str, _ZoneFile] = {}  # path -> last good parse
        self._failed: dict[str, Fingerprint] = {}  # path -> fingerprint of the bad version
        self._dynamic: dict[dns.name.Name, DynamicNames] = {}
        self._built: dict[str, tuple[ZoneData, object, Zone]] = {}
        self._listeners: list[Callable[[Snapshot], None]] = []
        self._retired: list[object] = []  # replaced by this swap: freed off the loop after it
        self.started_at = time.time()
        # Held by whoever reads or writes zone files (the watcher, the admin API), so that a
        # reload never installs a parse older than an API write, nor the reverse.
        self.files_lock = asyncio.Lock()

    # -- swapping -------------------------------------------------------------------------
    def on_swap(self, listener: Callable[[Snapshot], None]) -> None:
        self._listeners.append(listener)

    def _swap(self, zones: ZoneStore | None = None, **changes: object) -> Snapshot:
        old = self.snapshot
        new = replace(
            old, generation=old.generation + 1, zones=zones or old.zones, loaded_at=time.time(),
            **changes,  # type: ignore[arg-type]
        )
        self.snapshot = new
        for listener in self._listeners:
            listener(new)
        self._retired.append(old)
        del old
        release_later(self._retired)  # now the only reference: a big zone is freed there
        self._retired = []
        return new

    # -- zones ----------------------------------------------------------------------------
    def zone_data(self) -> dict[dns.name.Name, ZoneData]:
        return {f.data.origin: f.data for f in self._files.values()}

    def load_zones(self) -> list[Problem]:
        """Startup: load every zone file; all problems are returned (the caller decides)."""
        problems: list[Problem] = []
        results = [load_zone_file(p) for p in scan(self.zones_dir)] if self.zones_dir else []
        problems.extend(p for r in results for p in r.problems)
        problems.extend(self._duplicate_origins(results))
        if problems:
            return problems
        for result in results:
            assert result.data is not None
            self._files[result.path] = _ZoneFile(result.data, result.fingerprint)
        with gc_paused():
            self._swap(self._build_store())
        return []

    def _duplicate_origins(self, results: list[LoadResult]) -> list[Problem]:
        seen: dict[dns.name.Name, str] = {}
        problems = []
        for result in results:
            if result.data is None:
                continue
            origin = result.data.origin
            if origin in seen:
                message = f"zone {origin} is also defined in {seen[origin]}"
                problems.append(Problem(result.path, 1, message))
            seen[origin] = result.path
        return problems

    def _build_store(self) -> ZoneStore:
        """Zones whose data and policy bindings did not change are reused, not rebuilt."""
        zones = {}
        built: dict[str, tuple[ZoneData, object, Zone]] = {}
        for path, zone_file in self._files.items():
            data = zone_file.data
            dynamic = self._dynamic.get(data.origin)
            previous = self._built.get(path)
            if previous is not None and previous[0] is data and previous[1] is dynamic:
                zone = previous[2]
            else:
                zone = build_zone(data, dynamic)
            built[path] = (data, dynamic, zone)
            zones[data.origin] = zone
        self._retired.append(self._built)
        self._built = built
        return ZoneStore(zones)

    def changed_files(self, force: bool = False) -> tuple[list[str], list[Path]]:
        """Cheap stat-only look at the folder: (paths removed, files to (re)load).
        ``force``: every file is to be read again, changed or not (SIGHUP: an edit that
        kept a file's size and modification time is not seen otherwise)."""
        if self.zones_dir is None:
            return [], []
        on_disk = {str(p): p for p in scan(self.zones_dir)}
        removed = [path for path in self._files if path not in on_disk]
        to_load = []
        for path, p in on_disk.items():
            current = self._files.get(path)
            if not force and (
                (current is not None and _unchanged(current.fingerprint))
                or (path in self._failed and _unchanged(self._failed[path]))
            ):
                continue
            to_load.append(p)
        return removed, to_load

    def refresh_zones(self) -> list[Problem]:
        """Reload zone files that changed, appeared or disappeared since the last look."""
        removed, to_load = self.changed_files()
        return self.apply_loaded(removed, [load_zone_file(p) for p in to_load])

    async def refresh_zones_async(self, force: bool = False) -> list[Problem]:
        """As :meth:`refresh_zones`, parsing in a thread so answers keep flowing."""
        removed, to_load = self.changed_files(force)
        if not removed and not to_load:
            return []
        async with self.files_lock:
            removed, to_load = self.changed_files(force)  # again: an API write may be done
            loop = asyncio.get_running_loop()
            results = await asyncio.gather(
                *(loop.run_in_executor(None, load_zone_file, p) for p in to_load)
            )
            await asyncio.gather(*(  # a big zone takes seconds to build: not on the loop
                loop.run_in_executor(None, self._prebuild, r) for r in results if r.data
            ))
            return self.apply_loaded(removed, list(results))

    def _prebuild(self, result: LoadResult) -> None:
        """Build a freshly loaded zone ahead of :meth:`apply_loaded`, whose
        :meth:`_build_store` then finds it built (or builds it, if bindings changed)."""
        data = result.data
        assert data is not None
        dynamic = self._dynamic.get(data.origin)
        with gc_paused():
            self._built[result.path] = (data, dynamic, build_zone(data, dynamic))

    def apply_loaded(self, removed: list[str], results: list[LoadResult]) -> list[Problem]:
        """Swap in what loaded cleanly. A file that fails its checks keeps its last good
        version serving (or stays out, if it never had one); its problems are logged once
        per bad version and returned."""
        problems: list[Problem] = []
        changed = False
        for path in removed:
            if path in self._files:
                log.info("zone file %s removed: zone %s no longer served", path,
                         self._files[path].data.origin)
                self._retired.append(self._files.pop(path))
                changed = True
        for result in results:
            path = result.path
            clash = self._clashing_origin(result)
            if clash:
                result = LoadResult(path, None, (clash,), result.fingerprint)
            if result.data is None:
                self._failed[path] = result.fingerprint
                for problem in result.problems:
                    log.error("zone reload rejected, last good version keeps serving: %s",
                              problem)
                problems.extend(result.problems)
                continue
            self._failed.pop(path, None)
            self._retired.append(self._files.get(path))
            self._files[path] = _ZoneFile(result.data, result.fingerprint)
            log.info("zone %s loaded from %s (serial %s)", result.data.origin, path,
                     _serial(result.data))
            changed = True
        if changed:
            self._swap(self._build_store())
        return problems

    def _clashing_origin(self, result: LoadResult) -> Problem | None:
        if result.data is None:
            return None
        for path, zone_file in self._files.items():
            if path != result.path and zone_file.data.origin == result.data.origin:
                return Problem(result.path, 1,
                               f"zone {result.data.origin} is also defined in {path}")
        return None

    def rejected_files(self) -> list[str]:
        """Zone files whose version on disk was rejected (their last good version serves)."""
        return sorted(self._failed)

    def zone_file(self, origin: dns.name.Name) -> tuple[ZoneData, Fingerprint] | None:
        """The last good data of a zone and the fingerprint of its files when read."""
        for zone_file in self._files.values():
            if zone_file.data.origin == origin:
                return zone_file.data, zone_file.fingerprint
        return None

    def replace_zone_data(self, data: ZoneData, files: Fingerprint | None = None) -> Snapshot:
        """Serve already-checked data for one zone file (used by the admin API). ``files``:
        the fingerprint of what was written, taken from the written file itself."""
        self._retired.append(self._files.get(data.path))
        self._files[data.path] = _ZoneFile(data, files or fingerprint(data.files))
        self._failed.pop(data.path, None)
        return self._swap(self._build_store())

    def forget_zone_file(self, path: str) -> Snapshot:
        self._files.pop(path, None)
        self._failed.pop(path, None)
        return self._swap(self._build_store())

    # -- routing --------------------------------------------------------------------------
    def set_routing(
        self, router: Router | None, dynamic: Mapping[dns.name.Name, DynamicNames]
    ) -> Snapshot:
        """Install a router and the policy-bound names of each zone, in one swap."""
        self._dynamic = dict(dynamic)
        return self._swap(self._build_store(), router=router)


def _unchanged(previous: Fingerprint) -> bool:
    return fingerprint([entry[0] for entry in previous]) == previous


def _serial(data: ZoneData) -> int | str:
    soa = data.rrsets.get(data.origin, {}).get(6)
    return soa[0].serial if soa else "?"
