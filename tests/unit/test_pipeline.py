"""Pipeline order, the guard's verdicts, and the one catch-all that turns a crash into SERVFAIL."""

from __future__ import annotations

import asyncio

import dns.name
import dns.rcode
import pytest

from resolver.model import Answer, Client, Query
from resolver.pipeline import Guard, Pipeline


def make_query(qtype: int = 1, qclass: int = 1, transport: str = "udp") -> Query:
    return Query(
        id=7, qname=dns.name.from_text("www.example.test"), qtype=qtype, qclass=qclass,
        opcode=0, rd=True, cd=False, edns=None, client=Client("127.0.0.1", 5000, transport),
    )


class Fixed:
    def __init__(self, name: str, answer: Answer | None) -> None:
        self.name = name
        self._answer = answer
        self.calls = 0

    def answer(self, query: Query) -> Answer | None:
        self.calls += 1
        return self._answer


class Crashing:
    name = "crashing"

    def answer(self, query: Query) -> Answer | None:
        raise RuntimeError("boom")


class Later:
    name = "later"

    def __init__(self, answer: Answer | None) -> None:
        self._answer = answer

    async def _wait(self) -> Answer | None:
        await asyncio.sleep(0)
        return self._answer

    def answer(self, query: Query):  # type: ignore[no-untyped-def]
        return self._wait()


def test_first_answer_wins_and_later_stages_are_not_asked() -> None:
    first = Fixed("first", Answer(rcode=dns.rcode.NOERROR, stage="first"))
    second = Fixed("second", Answer(rcode=dns.rcode.NXDOMAIN, stage="second"))
    result = Pipeline([first, second]).run(make_query())
    assert isinstance(result, Answer) and result.stage == "first"
    assert second.calls == 0


def test_no_stage_answers_refused() -> None:
    result = Pipeline([Fixed("none", None)]).run(make_query())
    assert isinstance(result, Answer) and result.rcode == dns.rcode.REFUSED


def test_a_crashing_stage_becomes_servfail_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    result = Pipeline([Crashing(), Fixed("never", Answer())]).run(make_query())
    assert isinstance(result, Answer) and result.rcode == dns.rcode.SERVFAIL
    assert "stage crashing failed on query id=7" in caplog.text


async def test_async_stage_none_falls_through_to_next() -> None:
    last = Fixed("last", Answer(rcode=dns.rcode.NXDOMAIN, stage="last"))
    pending = Pipeline([Later(None), last]).run(make_query())
    assert not isinstance(pending, Answer)
    result = await pending
    assert result.stage == "last"


@pytest.mark.parametrize(
    ("qtype", "qclass", "transport", "rcode"),
    [
        (252, 1, "tcp", dns.rcode.REFUSED),  # AXFR: no transfer ACL grants it
        (252, 1, "udp", dns.rcode.NOTIMP),  # AXFR over UDP, as Knot and NSD
        (251, 1, "udp", dns.rcode.NOTIMP),  # IXFR
        (16, 3, "udp", dns.rcode.REFUSED),  # CH class: no zone of ours
        (16, 4, "udp", dns.rcode.REFUSED),  # HS class
    ],
)
def test_guard_verdicts(qtype: int, qclass: int, transport: str, rcode: int) -> None:
    answer = Guard().answer(make_query(qtype, qclass, transport))
    assert answer is not None and answer.rcode == rcode


@pytest.mark.parametrize(("qtype", "qclass"), [(1, 1), (1, 255), (41, 1), (254, 1), (250, 1)])
def test_guard_passes_questions_the_zone_answers(qtype: int, qclass: int) -> None:
    # Knot and NSD answer OPT/TSIG/MAILA questions and class ANY from zone data (NODATA etc.).
    assert Guard().answer(make_query(qtype, qclass)) is None


def test_unanswered_query_is_refused_not_authoritative() -> None:
    answer = Pipeline([]).run(make_query())
    assert isinstance(answer, Answer) and answer.rcode == dns.rcode.REFUSED
    assert answer.ede == ((20, ""),)
