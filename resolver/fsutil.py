"""Durable file writes: what an acknowledged change needs to survive ``kill -9`` or a crash."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_folder(folder: str | Path) -> None:
    """Make a rename or unlink in ``folder`` durable (it lives in the folder's entry)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: temp file beside it, fsync, rename,
    fsync the folder. Readers see the old file or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def remove_durably(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_folder(path.parent)
