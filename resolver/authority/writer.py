"""Zone changes from the admin API: made durable in the zone file first, then served.

One writer at a time, and never beside a reload: both hold ``runtime.files_lock``. A change:

1. If the zone file changed on disk since it was last read (a hand edit), it is read again
   first, so the hand edit is the base the change applies to: both survive (a merge). A hand
   edit that does not load refuses the change with 409 and the file:line of the problem.
2. The batch is applied to the data and checked (:mod:`resolver.authority.edit`).
3. The file's text is edited in place (:mod:`resolver.authority.zonetext`), the result is
   parsed and compared with the intended data: the file always reads back as what is served.
4. It is written atomically: a temp file beside it, fsync, rename over the old one only if
   the old one is still the file that was read, fsync of the folder. Only then is the new data
   swapped in and the 200 sent, so an acknowledged change survives ``kill -9``, and a reader
   of the folder never sees half a file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dns.name
import dns.rdatatype

from resolver.authority.catalog import Fingerprint, fingerprint, load_zone_file
from resolver.authority.check import check_zone
from resolver.authority.edit import Change, apply_batch, parse_new_zone, serial_of
from resolver.authority.load import ZONE_SUFFIX, ZoneData, parse_zone_file
from resolver.authority.zonetext import NotEditable, edit_text, render_zone
from resolver.errors import InputError, ZoneError
from resolver.fsutil import fsync_folder
from resolver.runtime import Runtime

log = logging.getLogger("resolver.authority.writer")

FileStamp = tuple[str, int, int, int]  # one entry of a Fingerprint
TEMP_PREFIX = ".resolver-tmp."
MAX_ATTEMPTS = 3
T = TypeVar("T")


class ChangedOnDisk(Exception):
    """The file is not the one that was read: someone wrote it meanwhile. ``unseen``: its
    size and modification time did not show it (an edit within one clock tick)."""

    def __init__(self, path: str, unseen: bool = False) -> None:
        super().__init__(path)
        self.unseen = unseen


# -- files ------------------------------------------------------------------------------------
def read_text(path: str) -> tuple[str, FileStamp]:
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        raw = f.read()
    return raw.decode("utf-8"), (path, st.st_mtime_ns, st.st_size, st.st_ino)


def stamp(path: str) -> FileStamp:
    return fingerprint([path])[0]


def write_atomic(path: str, text: str, expect: FileStamp | None) -> FileStamp:
    """Replace ``path`` with ``text`` if it is still ``expect``, or create it if ``expect`` is
    None and it does not exist (else :class:`ChangedOnDisk`). Durable when this returns."""
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX + os.path.basename(target) + ".",
                                suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            mode = stat.S_IMODE(os.stat(target).st_mode) if expect is not None else 0o644
            os.fchmod(f.fileno(), mode)
            st = os.fstat(f.fileno())
        if expect is None:
            _create(temp, target)
        else:
            if stamp(path) != expect:
                raise ChangedOnDisk(path)
            os.replace(temp, target)
    except BaseException:
        with _quietly():
            os.unlink(temp)
        raise
    fsync_folder(folder)
    return (path, st.st_mtime_ns, st.st_size, st.st_ino)


def _create(temp: str, target: str) -> None:
    """Rename without replacing: a hard link fails if the target exists."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise ChangedOnDisk(target) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):  # no hard links here: check, then rename
            raise ChangedOnDisk(target) from None
        os.replace(temp, target)
        return
    os.unlink(temp)


def retire(path: str) -> str:
    """Take a zone file out of the folder's ``*.zone`` set, keeping it as ``*.zone.deleted``."""
    kept = path + ".deleted"
    os.replace(path, kept)
    fsync_folder(os.path.dirname(os.path.abspath(path)))
    return kept


def remove_stale_temps(folder: Path) -> None:
    """Temp files of writes cut short by a crash (they never end in ``.zone``)."""
    if not folder.is_dir():
        return
    for path in folder.glob(TEMP_PREFIX + "*.tmp"):
        with _quietly():
            path.unlink()


class _quietly:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError)


def zone_file_name(origin: dns.name.Name) -> str:
    return origin.to_text(omit_final_dot=True).lower() + ZONE_SUFFIX


def first_difference(got: ZoneData, wanted: ZoneData,
                     touched: frozenset[tuple[dns.name.Name, int]] | None = None) -> str | None:
    """The first RRset that differs between two versions of a zone. With ``touched``, only
    those RRsets have their records compared; the others their presence, TTL and size (their
    lines were not edited, so a record can only have moved to another owner, which changes
    two sizes), which is what makes checking a write of a big zone affordable."""
    if got.rrsets.keys() != wanted.rrsets.keys():
        name = next(iter(got.rrsets.keys() ^ wanted.rrsets.keys()))
        return f"{name}"
    for name, a in got.rrsets.items():
        b = wanted.rrsets[name]
        if a.keys() != b.keys():
            return f"{name}"
        for rdtype, x in a.items():
            y = b[rdtype]
            if x.ttl != y.ttl or len(x) != len(y):
                return f"{name} {dns.rdatatype.to_text(rdtype)}"
            if (touched is None or (name, rdtype) in touched) and x != y:
                return f"{name} {dns.rdatatype.to_text(rdtype)}"
    return None


# -- the writer -------------------------------------------------------------------------------
class ZoneWriter:
    """Create, change and delete zones through their files, as the admin API asks."""

    def __init__(self, runtime: Runtime, zones_dir: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.zones_dir = zones_dir
        self.clock = clock
        remove_stale_temps(zones_dir)

    # A client that goes away mid-change must not cut a write in half: the public methods
    # run their work shielded from cancellation.
    async def patch(self, origin: dns.name.Name, changes: tuple[Change, ...],
                    if_match: int | None) -> ZoneData:
        """Apply a batch; the data now served (and written), or :class:`InputError`."""
        return await asyncio.shield(self._patch(origin, changes, if_match))

    async def create(self, body: object) -> ZoneData:
        return await asyncio.shield(self._create(body))

    async def delete(self, origin: dns.name.Name, if_match: int | None) -> str:
        """Stop serving a zone; its file is kept as ``*.zone.deleted`` (returned)."""
        return await asyncio.shield(self._delete(origin, if_match))

    async def _patch(self, origin: dns.name.Name, changes: tuple[Change, ...],
                     if_match: int | None) -> ZoneData:
        async with self.runtime.files_lock:
            reread = False
            for _ in range(MAX_ATTEMPTS):
                data, files = await self._current(origin, reread)
                check_precondition(data, if_match)
                try:
                    parsed, written = await _in_thread(_apply_and_write, data, files, changes)
                except ChangedOnDisk as exc:
                    reread = exc.unseen
                    continue
                self.runtime.replace_zone_data(parsed, written)
                log.info("zone %s changed through the API: %d change(s), serial %d", origin,
                         len(changes), serial_of(parsed))
                return parsed
        raise InputError("the zone file kept changing on disk during the change; try again",
                         "zone", 409)

    async def _create(self, body: object) -> ZoneData:
        serial = int(time.strftime("%Y%m%d01", time.gmtime(self.clock())))
        spec = parse_new_zone(body, serial)
        path = self.zones_dir / zone_file_name(spec.origin)
        problems = check_zone(spec.data)
        if problems:
            first = problems[0]
            field = first.file if first.file.startswith("rrsets[") else None
            raise InputError(f"the zone would not pass 'resolver check': {first.message}",
                             field, 422)
        text = render_zone(spec.origin, spec.ttl, spec.rrsets(), spec.header)
        async with self.runtime.files_lock:
            if self.runtime.zone_file(spec.origin) is not None:
                raise InputError(f"zone {spec.origin} exists", "name", 409)
            try:
                parsed, written = await _in_thread(_write_new, path, spec.origin, text)
            except ChangedOnDisk:
                raise InputError(f"{path} exists (a zone file that does not load?)", "name",
                                 409) from None
            self.runtime.replace_zone_data(parsed, written)
        log.info("zone %s created through the API in %s", spec.origin, path)
        return parsed

    async def _delete(self, origin: dns.name.Name, if_match: int | None) -> str:
        async with self.runtime.files_lock:
            state = self.runtime.zone_file(origin)
            if state is None:
                raise InputError(f"no zone {origin}", "zone", 404)
            data = state[0]
            check_precondition(data, if_match)
            kept = await _in_thread(retire, data.path)
            self.runtime.forget_zone_file(data.path)
        log.info("zone %s deleted through the API; its file is kept as %s", origin, kept)
        return kept

    async def _current(self, origin: dns.name.Name, reread: bool = False
                       ) -> tuple[ZoneData, Fingerprint]:
        """The zone as its files are now: a hand edit since the last read is loaded first."""
        state = self.runtime.zone_file(origin)
        if state is None:
            raise InputError(f"no zone {origin}", "zone", 404)
        data, files = state
        if not reread and fingerprint([entry[0] for entry in files]) == files:
            return state
        path = data.path
        if not os.path.exists(path):
            self.runtime.apply_loaded([path], [])
            raise InputError(f"the file of zone {origin} was removed from disk", "zone", 404)
        problems = self.runtime.apply_loaded([], [await _in_thread(load_zone_file, Path(path))])
        if problems:
            raise InputError(
                f"{path} was edited on disk and does not load ({problems[0]}); the last good "
                "version keeps serving: fix the file, then send the change again", "zone", 409)
        state = self.runtime.zone_file(origin)
        if state is None:
            raise InputError(f"{path} no longer holds zone {origin}", "zone", 404)
        return state


def check_precondition(data: ZoneData, if_match: int | None) -> None:
    serial = serial_of(data)
    if if_match is not None and if_match != serial:
        raise InputError(f"the zone's serial is {serial}, not {if_match}", "If-Match", 412)


def _apply_and_write(data: ZoneData, files: Fingerprint, changes: tuple[Change, ...]
                     ) -> tuple[ZoneData, Fingerprint]:
    """Runs in a thread (a big zone takes a while): apply, read, edit in place, verify, write.
    The blocking I/O is here and nowhere else."""
    edited = apply_batch(data, changes)
    text, read = read_text(data.path)
    if read != files[0]:
        raise ChangedOnDisk(data.path)
    old = {key: data.rrsets.get(key[0], {}).get(key[1]) for key in edited.touched}
    new = {key: edited.data.rrsets.get(key[0], {}).get(key[1]) for key in edited.touched}
    try:
        new_text = edit_text(text, data.origin, old, new)
    except NotEditable as exc:
        _unless_edited_unseen(data, text)
        raise InputError(str(exc), "changes", 409) from None
    parsed = _reparse(data.path, data.origin, new_text)
    different = first_difference(parsed, edited.data, edited.touched)
    if different is not None:
        _unless_edited_unseen(data, text)
        raise InputError(
            f"the change cannot be written into {data.path} without also changing "
            f"{different} (layout the writer cannot follow); edit the file by hand",
            "changes", 409)
    written = write_atomic(data.path, new_text, read)
    return parsed, (written, *fingerprint(list(parsed.files[1:])))


def _unless_edited_unseen(data: ZoneData, text: str) -> None:
    """The file reads differently from ``data`` although it looks unchanged: a hand edit
    that kept its size within one clock tick. Read it again (merge), do not refuse."""
    try:
        on_disk = parse_zone_file(Path(data.path), data.origin, text=text)
    except ZoneError:
        raise ChangedOnDisk(data.path, unseen=True) from None
    if first_difference(on_disk, data) is not None:
        raise ChangedOnDisk(data.path, unseen=True)


def _write_new(path: Path, origin: dns.name.Name, text: str) -> tuple[ZoneData, Fingerprint]:
    parsed = _reparse(str(path), origin, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = write_atomic(str(path), text, None)
    return parsed, (written,)


def _reparse(path: str, origin: dns.name.Name, text: str) -> ZoneData:
    try:
        parsed = parse_zone_file(Path(path), origin, text=text)
    except ZoneError as exc:  # a bug here, never the caller's fault
        raise RuntimeError(f"the edited zone text does not parse: {exc}") from exc
    problems = check_zone(parsed)
    if problems:
        raise RuntimeError(f"the edited zone text does not check: {problems[0]}")
    return parsed


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
