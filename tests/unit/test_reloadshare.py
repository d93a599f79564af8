"""``POST /reload`` with several workers: the request and its confirmations, in process (the
workers' channel replaced by one that delivers on the next turn of the loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from resolver import reloadshare
from resolver.reloadshare import ReloadFollower, ReloadLeader, ReloadReport
from resolver.workerchannel import Delivery


class Link:
    """The sockets folder: worker index -> its handlers (a worker not here is not running)."""

    def __init__(self) -> None:
        self.workers: dict[int, dict[str, Callable[[Any], None]]] = {}
        self.sent: list[tuple[int, str]] = []


class FakeChannel:
    def __init__(self, link: Link, index: int) -> None:
        self.link, self.index = link, index
        link.workers[index] = {}

    def on(self, kind: str, handler: Callable[[Any], None]) -> None:
        self.link.workers[self.index][kind] = handler

    def send(self, index: int, kind: str, payload: Any) -> Delivery:
        if index not in self.link.workers:
            return Delivery.ABSENT
        self.link.sent.append((index, kind))
        handler = self.link.workers[index].get(kind)
        if handler is not None:
            asyncio.get_running_loop().call_soon(handler, payload)
        return Delivery.SENT

    def send_many(self, indices: Iterable[int], kind: str, payload: Any
                  ) -> dict[int, Delivery]:
        return {index: self.send(index, kind, payload) for index in indices}


class Worker:
    """A worker's reload: counted, held until ``release`` is set, after ``started``."""

    def __init__(self) -> None:
        self.reloads = 0
        self.release, self.started = asyncio.Event(), asyncio.Event()
        self.release.set()
        self.started.set()

    async def reload(self) -> None:
        await self.release.wait()
        self.reloads += 1


def workers(count: int, running: Iterable[int]) -> tuple[Link, list[Worker], ReloadLeader]:
    """``count`` workers: worker 0 leads, those in ``running`` follow, the rest are down."""
    link, each = Link(), [Worker() for _ in range(count)]
    leader = ReloadLeader(each[0].reload, FakeChannel(link, 0), count)
    for index in running:
        ReloadFollower(each[index].reload, each[index].started, FakeChannel(link, index))
    return link, each, leader


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reloadshare, "RESEND_SECONDS", 0.02)
    monkeypatch.setattr(reloadshare, "CONFIRM_WITHIN", 0.5)


async def test_answered_once_every_worker_has_reloaded_after_its_start() -> None:
    _, each, leader = workers(3, (1, 2))
    each[2].started.clear()
    task = asyncio.create_task(leader.reload())
    await asyncio.sleep(0.1)
    assert [w.reloads for w in each] == [1, 1, 0]  # worker 2 is still starting
    assert not task.done()
    each[2].started.set()
    assert await task == ReloadReport(3, (0, 1, 2))
    assert [w.reloads for w in each] == [1, 1, 1]


async def test_a_worker_that_is_not_running_reads_the_files_as_it_starts() -> None:
    _, each, leader = workers(3, (1,))
    report = await leader.reload()
    assert report == ReloadReport(3, (0, 1), starting=(2,))
    assert report.complete and report.to_json() == {"count": 3, "confirmed": [0, 1],
                                                    "starting": [2], "unconfirmed": []}
    assert [w.reloads for w in each] == [1, 1, 0]


async def test_asked_again_while_reloading_a_worker_reloads_once() -> None:
    link, each, leader = workers(2, (1,))
    each[1].release.clear()
    task = asyncio.create_task(leader.reload())
    await asyncio.sleep(0.15)
    assert link.sent.count((1, reloadshare.RELOAD)) > 2  # sent again while it waits
    each[1].release.set()
    assert (await task).confirmed == (0, 1)
    assert each[1].reloads == 1


async def test_a_worker_that_does_not_answer_is_reported() -> None:
    link, each, leader = workers(2, ())
    FakeChannel(link, 1)  # bound, but it never answers (stopped)
    report = await leader.reload()
    assert report == ReloadReport(2, (0,), unconfirmed=(1,)) and not report.complete
    assert each[0].reloads == 1
