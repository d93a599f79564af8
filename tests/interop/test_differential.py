"""The same questions to our server, Knot and NSD; the answers must agree (compare.py says
where they may differ and why)."""

from __future__ import annotations

import collections
from dataclasses import replace

import pytest

from tests.interop.cases import Case, all_cases
from tests.interop.compare import Reference, check_ours, compare

pytestmark = pytest.mark.interop

CASES = all_cases()


def test_enough_cases_over_every_transport() -> None:
    shapes = collections.Counter(
        ("tcp" if c.shape.tcp else "udp", c.shape.payload is not None) for c in CASES
    )
    assert len(CASES) >= 500
    assert shapes[("udp", False)] >= 150 and shapes[("udp", True)] >= 150
    assert shapes[("tcp", False)] + shapes[("tcp", True)] >= 150
    assert any(c.qname != c.qname.lower() for c in CASES)
    assert any(c.shape.do for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer(case: Case, ask_ours, references: list[Reference]) -> None:  # type: ignore[no-untyped-def]
    ours = ask_ours(case)
    # Asked again in another letter case: a cacheable answer now comes from the fast path
    # (prebuilt bytes, patched with the ID and the question); it must say the same.
    again_case = replace(case, qname=case.qname.swapcase())
    again = ask_ours(again_case)
    problems = [f"[fast path] {p}" for p in check_ours(again_case, again)]
    if replace(again, question=None) != replace(ours, question=None):
        problems.append(f"[fast path] the second answer differs:\n{again.describe()}")
    details = [f"ours:\n{ours.describe()}"]
    for ref in references:
        theirs = ref.ask(case)
        found = compare(case, ours, theirs, ref, ask_ours)
        problems += [f"[{ref.name}] {p}" for p in found]
        if found:
            details.append(f"{ref.name}:\n{theirs.describe()}")
    assert not problems, "\n".join(problems + details)
