"""Every case of ``cases.py`` against our recursor on the offline tree."""

from __future__ import annotations

import dns.flags
import pytest

from tests.scenarios.cases import CASES, Case, ask, ede_codes, expected, normalise
from tests.support.server import ResolverProcess

CLIENT_TIMEOUT = 5.0  # what a stub resolver waits: a failing zone must SERVFAIL before this


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.qname}{c.qtype}")
def test_case(ours: ResolverProcess, case: Case) -> None:
    response, _ = ask(ours.host, ours.port, case.qname, case.qtype, timeout=CLIENT_TIMEOUT)
    assert normalise(response) == expected(case), case.why
    assert response.flags & dns.flags.RA, "recursion available"
    assert not response.flags & dns.flags.AA, "a recursive answer is not authoritative"
    if case.rcode == "SERVFAIL":
        assert ede_codes(response), "SERVFAIL says why with an Extended DNS Error"


def test_failing_zones_fail_fast_the_second_time(ours: ResolverProcess) -> None:
    """Dead, lame and unreachable servers are remembered: SERVFAIL again, well in time."""
    for name in ("www.dead.test.", "www.refused.test.", "www.lame.test.", "www.unreach.test."):
        for _ in range(2):
            response, _ = ask(ours.host, ours.port, name, "A", timeout=CLIENT_TIMEOUT)
            assert normalise(response) == ("SERVFAIL", ())
