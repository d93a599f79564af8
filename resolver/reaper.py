"""Big structures let go of in a background thread, piece by piece, not on the event loop.

Dropping the last reference to a zone of a million records frees millions of objects in one
C call that holds the GIL throughout: a quarter to half a second without answers, even in a
thread. So the runtime hands what a swap retired (the old snapshot, the old zone data) to
:func:`release_later`, and this thread takes it apart: big dicts, lists and sets are emptied
a few thousand entries at a time, with the GIL let go between batches, so that each entry's
own share of the freeing (a name, a node and its RRsets) is small.

Only what nothing else holds is taken apart. An object is ours when its reference count is
the references we know of (CPython's count; a weakly referenced object is never ours): the
last retired container that held it let go of it, and nothing live points at it. A zone that
the new snapshot still serves (unchanged zones are shared by old and new) is only let go of;
whoever holds it last frees it. A retired root that something else still holds (a query in
flight keeps the old snapshot) is kept and looked at again until it is ours (for a minute;
then its holder frees it). Tuples and frozensets cannot be emptied: their entries are copied
into a list first. What comes out of a big container is dropped whole unless it is a big
container itself; an instance with a finalizer (``__del__``) is never emptied.
"""

from __future__ import annotations

import itertools
import logging
import queue
import sys
import threading
import time
import types
import weakref
from typing import Any

BATCH = 2000  # entries taken out between two releases of the GIL
BIG = 256  # a container with fewer entries than this, met in bulk, is freed whole
PAUSE = 0.0005  # seconds the thread sleeps between batches: the event loop goes first
RECHECK = 0.05  # seconds between two looks at retired roots that something else holds
PATIENCE = 60.0  # seconds after which such a root is let go of (its holder frees it)
_graves: queue.SimpleQueue[object] = queue.SimpleQueue()
_lock = threading.Lock()
_thread: threading.Thread | None = None
log = logging.getLogger("resolver.reaper")


def release_later(retired: object) -> None:
    """Take over a reference; what it holds is freed soon, in the reaper thread."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_reap, name="reaper", daemon=True)
            _thread.start()
    _graves.put(retired)


def _reap() -> None:
    waiting: list[object] = []  # retired roots that something else still holds
    give_up: dict[int, float] = {}  # id of such a root -> when to let go of it
    while True:
        try:
            waiting.append(_graves.get(timeout=RECHECK if waiting else None))
        except queue.Empty:
            pass
        try:
            waiting = release(waiting, PAUSE)
        except Exception:  # never expected; the thread must go on all the same
            log.exception("reaper: taking retired data apart failed")
            waiting = []
        now = time.monotonic()
        give_up = {id(root): give_up.get(id(root), now + PATIENCE) for root in waiting}
        waiting = [root for root in waiting if give_up[id(root)] > now]


def release(roots: list[object], pause: float = 0.0) -> list[object]:
    """Take apart and free what only ``roots`` holds. Returns the roots that something
    else holds too (to try again later); ``roots`` is left empty."""
    held = [roots.pop(i) for i in reversed(range(len(roots)))
            if _worth(roots[i], from_bulk=False)
            and not _ours(sys.getrefcount(roots[i]) - 1, roots[i])]  # the list's is the one
    dismantle(roots, pause)
    return held


def dismantle(container: list[object], pause: float = 0.0) -> None:
    """Empty ``container`` and take apart, depth first, whatever it held that nothing else
    holds, :data:`BATCH` entries at a time with ``time.sleep(pause)`` between batches."""
    stack: list[tuple[Any, bool]] = [(container, False)]  # (ours, its entries are bulk)
    del container
    work = 0  # entries taken since the last pause
    while stack:
        top, bulk = stack[-1]
        if type(top) in _FROZEN:  # cannot be emptied: a list of its entries replaces it
            stack[-1] = (_entries(top), bulk)
            del top  # the tuple or frozenset goes: its entries are still held, by the list
            continue
        taken = _take(top)
        del top
        if taken is None:
            stack.pop()  # nothing more to take: it goes now, with whatever is left in it
            continue
        work += len(taken)
        _keep_ours(taken, bulk, stack)
        if work >= BATCH:
            work = 0
            time.sleep(pause)


def _keep_ours(taken: list[object], bulk: bool, stack: list[tuple[Any, bool]]) -> None:
    """Put on ``stack`` what only ``taken`` held and is worth taking apart; drop the rest
    (freed now if it was ours: small; or left to whoever else holds it)."""
    while taken:
        child = taken.pop()
        # Ours when only ``child`` holds it (getrefcount counts its argument too).
        if _worth(child, bulk) and _ours(sys.getrefcount(child) - 1, child):
            kind = type(child)
            big = (kind in _MUTABLE or kind in _FROZEN) and len(child) >= BIG
            stack.append((child, big))


def _ours(references: int, obj: object) -> bool:
    if references != 1:
        return False
    return type(obj).__weakrefoffset__ == 0 or weakref.getweakrefcount(obj) == 0


_MUTABLE = (dict, list, set)
_FROZEN = (tuple, frozenset)


def _worth(obj: object, from_bulk: bool) -> bool:
    """Whether to take ``obj`` apart rather than drop it whole. What comes out of a big
    container (a zone's names and nodes) is dropped whole unless it is a big container
    itself; above that (the snapshot, the store, a zone), anything with entries or
    attributes is looked into."""
    kind = type(obj)
    if kind in _MUTABLE or kind in _FROZEN:
        return len(obj) >= BIG or not from_bulk  # type: ignore[arg-type]
    return not from_bulk and bool(_attributes(kind))


def _take(obj: Any) -> list[object] | None:
    """Up to :data:`BATCH` references that ``obj`` (ours) held, now held by the list only;
    None when it holds nothing more."""
    kind = type(obj)
    if kind is dict:
        pop = obj.popitem
        return [x for _ in range(min(BATCH, len(obj))) for x in pop()] or None
    if kind is list or kind is set:
        pop = obj.pop
        return [pop() for _ in range(min(BATCH, len(obj)))] or None
    return _detach(obj)


def _entries(frozen: tuple[object, ...] | frozenset[object]) -> list[object]:
    entries: list[object] = []
    iterator = iter(frozen)
    while chunk := list(itertools.islice(iterator, BATCH)):
        entries.extend(chunk)
        time.sleep(0)
    return entries


def _detach(obj: object) -> list[object] | None:
    """The attribute values of an instance (ours: nobody sees it emptied, frozen
    dataclasses included), taken out of it."""
    taken = []
    for name in _attributes(type(obj)):
        if name == "__dict__":
            attributes = object.__getattribute__(obj, "__dict__")
            taken.extend(attributes.values())
            attributes.clear()
            continue
        try:
            taken.append(object.__getattribute__(obj, name))
        except AttributeError:  # an empty slot
            continue
        object.__delattr__(obj, name)
    return taken or None


_names: dict[type, tuple[str, ...]] = {}


def _attributes(kind: type) -> tuple[str, ...]:
    """Where instances of a Python class keep their attributes (``__slots__``, the
    ``__dict__``); nothing for builtins, and for classes with a finalizer (it would see
    its object emptied)."""
    names = _names.get(kind)
    if names is None:
        found: list[str] = []
        if kind.__module__ != "builtins" and not hasattr(kind, "__del__"):
            for klass in kind.__mro__:
                if "__slots__" in klass.__dict__:
                    found.extend(name for name, value in klass.__dict__.items()
                                 if type(value) is types.MemberDescriptorType)
            if kind.__dictoffset__:
                found.append("__dict__")
        names = _names[kind] = tuple(found)
    return names
