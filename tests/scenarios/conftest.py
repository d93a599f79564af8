"""Fixtures for recursion scenarios: the offline tree and recursors started on it.

Every recursor here is started with ``--root-hints tests/data/recursion/hints`` (the tree's
root on 127.0.40.1) and with ``RESOLVER_UPSTREAM_LOOPBACK_ONLY`` set by ResolverProcess, so
no packet can leave loopback even if a test forgot the hints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios.tree import DATA, HINTS, Tree
from tests.support.server import ResolverProcess

NO_POLICIES = DATA / "no-policies"


def _can_bind_tree() -> bool:
    return os.geteuid() == 0


@pytest.fixture(scope="session")
def tree() -> Iterator[Tree]:
    if not _can_bind_tree():
        pytest.skip("the recursion tree binds port 53 on 127.0.4x.x: needs root")
    tree = Tree()
    try:
        yield tree
    finally:
        tree.close()


def recursor(zones: Path, *args: str, **kwargs: object) -> ResolverProcess:
    """``resolver serve`` with recursion from the tree's hints (never the real root)."""
    return ResolverProcess(zones, "--root-hints", str(HINTS), *args, recursion=True,
                           policies=NO_POLICIES, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def empty_zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-zones")


@pytest.fixture(scope="session")
def ours(tree: Tree, empty_zones: Path) -> Iterator[ResolverProcess]:
    with recursor(empty_zones) as process:
        yield process
