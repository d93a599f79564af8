"""Big structures let go of in a background thread, not on the event loop.

Dropping the last reference to a zone of a million records frees millions of objects, which
takes about half a second; on the event loop, that is half a second without answers. The
runtime hands what a swap retired (the old snapshot, the old zone data) to
:func:`release_later` once it holds no other reference, and this thread drops it, yielding
the GIL to the event loop every few milliseconds as any thread does.
"""

from __future__ import annotations

import queue
import threading

_graves: queue.SimpleQueue[object] = queue.SimpleQueue()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def release_later(retired: object) -> None:
    """Take over a reference; it is dropped soon, in the reaper thread."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_reap, name="reaper", daemon=True)
            _thread.start()
    _graves.put(retired)


def _reap() -> None:
    while True:
        retired = _graves.get()
        del retired  # the last reference: everything it held is freed here
