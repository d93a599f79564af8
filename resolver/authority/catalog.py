"""The zones folder: which files there are, parsed and checked. File I/O only, no serving.

``scan`` finds ``*.zone`` files; ``load_zone_file`` parses and checks one; ``fingerprint``
tells whether a zone file (or a file it includes) changed since it was read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from resolver.authority.check import check_zone
from resolver.authority.load import ZONE_SUFFIX, Problem, ZoneData, parse_zone_file
from resolver.errors import ZoneError

Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class LoadResult:
    path: str
    data: ZoneData | None
    problems: tuple[Problem, ...]
    fingerprint: Fingerprint


def scan(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.endswith(ZONE_SUFFIX) and p.is_file())


def fingerprint(files: tuple[str, ...] | list[str]) -> Fingerprint:
    out = []
    for name in files:
        try:
            st = os.stat(name)
        except OSError:
            out.append((name, -1, -1, -1))
            continue
        out.append((name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def load_zone_file(path: Path) -> LoadResult:
    """Parse and check one zone file; problems come back as data, never raised.

    The fingerprint is of the files as they were before reading, so that an edit made while
    the file was being read is seen (and read) at the next look."""
    before = fingerprint([str(path)])
    try:
        data = parse_zone_file(path)
    except ZoneError as exc:
        problem = Problem(exc.where, exc.line or 1, exc.message)
        # The file at fault may be an included one: a fix there must be seen too.
        files = [str(path)] if exc.where == str(path) else [str(path), exc.where]
        return LoadResult(str(path), None, (problem,), before + fingerprint(files[1:]))
    problems = tuple(check_zone(data))
    files = before + fingerprint(data.files[1:])
    return LoadResult(str(path), None if problems else data, problems, files)
