"""Differential: Unbound (Debian, iterator only) on the same tree, case by case.

Both resolvers get every case with the same client (EDNS 1232, 5 s timeout, TCP on TC). Ours
must get every case right; where Unbound is right too, the answers must be the same. The
table printed (``pytest -s``) is the one reported in docs/recursion.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.scenarios.cases import CASES, Case, ask, expected, normalise
from tests.scenarios.tree import HINTS, Tree
from tests.support.server import ResolverProcess
from tests.support.unbound import UnboundProcess, available

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def unbound(tree: Tree) -> Iterator[UnboundProcess]:
    if not available():
        pytest.skip("unbound is not installed")
    with UnboundProcess("127.0.45.1", 53, HINTS) as process:
        yield process


def _outcome(host: str, port: int, case: Case) -> tuple[str, tuple[str, ...]]:
    try:
        return normalise(ask(host, port, case.qname, case.qtype, timeout=5.0)[0])
    except Exception as exc:  # a client timeout is an outcome too
        return f"no answer ({type(exc).__name__})", ()


def test_same_answers_as_unbound(ours: ResolverProcess, unbound: UnboundProcess) -> None:
    with ThreadPoolExecutor(8) as pool:
        theirs = list(pool.map(lambda c: _outcome(unbound.host, unbound.port, c), CASES))
        mine = list(pool.map(lambda c: _outcome(ours.host, ours.port, c), CASES))
    rows = []
    for case, a, b in zip(CASES, mine, theirs, strict=True):
        want = expected(case)
        rows.append((case, a == want, b == want, b))
    ours_right = sum(r[1] for r in rows)
    unbound_right = sum(r[2] for r in rows)
    print(f"\ncases correct: ours {ours_right}/{len(CASES)}, unbound {unbound_right}/{len(CASES)}")
    for case, _mine_ok, theirs_ok, got in rows:
        if not theirs_ok:
            print(f"  unbound wrong on {case.qname} {case.qtype} ({case.why}): {got[0]}")
    assert [r[0].qname for r in rows if not r[1]] == []
    agree = [r for r in rows if r[2]]
    assert len(agree) >= len(CASES) - 10, "Unbound should be right on most of the tree"
