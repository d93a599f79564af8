"""Session fixtures for the differential suite: our server, Knot and NSD, side by side.

Each server serves the zones of ``tests/data/interop`` on its own 127.0.10.x address and a
free port, and is stopped when the session ends (also when a test fails). Without the
``knotd``/``nsd`` binaries the suite is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dns.name
import pytest

from tests.interop.compare import ACCEPTED, Reference
from tests.interop.refservers import Knot, Nsd, ReferenceServer, zone_origins
from tests.interop.wire import View, ask
from tests.support.server import ResolverProcess

DATA = Path(__file__).resolve().parents[1] / "data" / "interop"
OURS_HOST, KNOT_HOST, NSD_HOST = "127.0.10.1", "127.0.10.2", "127.0.10.3"


def _require(server: type[ReferenceServer]) -> None:
    if server.available():
        return
    message = f"{server.name} ({server.binary}) is not installed"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _start(server: type[ReferenceServer], host: str, tmp: Path) -> Iterator[ReferenceServer]:
    _require(server)
    process = server(DATA, tmp, host)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _start(Knot, KNOT_HOST, tmp_path_factory.mktemp("knot"))


@pytest.fixture(scope="session")
def nsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    yield from _start(Nsd, NSD_HOST, tmp_path_factory.mktemp("nsd"))


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResolverProcess]:
    # No policies (the repository's examples name zones not served here); --no-recursion is
    # ResolverProcess's default.
    policies = tmp_path_factory.mktemp("no-policies")
    with ResolverProcess(DATA, host=OURS_HOST, policies=policies) as process:
        yield process


def _origins() -> tuple[dns.name.Name, ...]:
    return tuple(dns.name.from_text(origin) for origin in zone_origins(DATA))


@pytest.fixture(scope="session")
def references(knot: ReferenceServer, nsd: ReferenceServer) -> list[Reference]:
    return [
        Reference(server.name, lambda case, s=server: ask(case, s.host, s.port), _origins())
        for server in (knot, nsd)
    ]


@pytest.fixture(scope="session")
def ask_ours(ours: ResolverProcess):  # type: ignore[no-untyped-def]
    def asker(case) -> View:  # type: ignore[no-untyped-def]
        return ask(case, ours.host, ours.port)

    return asker


@pytest.fixture(scope="session")
def endpoints(
    ours: ResolverProcess, knot: ReferenceServer, nsd: ReferenceServer
) -> dict[str, tuple[str, int]]:
    """Where each server listens, by name: ``ours``, ``knot``, ``nsd``."""
    return {
        "ours": (ours.host, ours.port),
        "knot": (knot.host, knot.port),
        "nsd": (nsd.host, nsd.port),
    }


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not ACCEPTED:
        return
    terminalreporter.section("interop: accepted differences (see tests/interop/compare.py)")
    for (reference, rule), count in sorted(ACCEPTED.items()):
        terminalreporter.write_line(f"{reference:5} {rule:14} {count}")
