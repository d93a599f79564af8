"""The UDP loops bench/udp_loops.py measures against ours answer like ours (smoke test)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import dns.message
import pytest

from bench.udp_variants import start_variant
from resolver.authority.stage import AuthorityStage
from resolver.fastpath import AnswerTable
from resolver.handler import QueryHandler, RecursionAcl
from resolver.pipeline import Guard, Pipeline
from resolver.runtime import Runtime
from resolver.transport.udp import start_udp

REPO = Path(__file__).resolve().parents[2]


async def _ask_twice(mode: str) -> tuple[list[str], int]:
    runtime = Runtime(REPO / "zones")
    assert runtime.load_zones() == []
    handler = QueryHandler(Pipeline([Guard(), AuthorityStage(lambda: runtime.snapshot)]),
                           RecursionAcl(False, []), AnswerTable())
    if mode == "drain":
        listener = await start_udp(handler, "127.0.0.1", 0)
    else:
        listener = await start_variant(handler, "127.0.0.1", 0, mode=mode)
    loop = asyncio.get_running_loop()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setblocking(False)
    answers = []
    try:
        for query_id in (11, 12):  # a miss (the pipeline), then a hit (the exact level)
            query = dns.message.make_query("ftp.example.test", "A")
            query.id = query_id
            await loop.sock_sendto(client, query.to_wire(), listener.sockname)
            reply = dns.message.from_wire(await asyncio.wait_for(loop.sock_recv(client, 4096), 5))
            assert reply.id == query_id
            answers.append(reply.answer[0].to_text())
    finally:
        client.close()
        listener.close()
    return answers, listener.fast_hits


@pytest.mark.parametrize("mode", ["drain", "thread", "protocol"])
def test_variant_answers_misses_and_hits(mode: str) -> None:
    answers, fast_hits = asyncio.run(_ask_twice(mode))
    assert answers[0] == answers[1] == "ftp.example.test. 3600 IN CNAME www.example.test."
    assert fast_hits == 1
