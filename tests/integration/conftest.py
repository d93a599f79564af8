"""Fixtures shared by the admin API tests: a module provides ``folder`` (with zones/ and
policies/) or its own ``server``; ``api`` is a client of whichever server the module runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.admin import TOKEN, AdminClient
from tests.support.server import ResolverProcess


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ResolverProcess]:
    with ResolverProcess(folder / "zones", policies=folder / "policies",
                         env={"RESOLVER_API_TOKEN": TOKEN}) as proc:
        yield proc


@pytest.fixture
def api(server: ResolverProcess) -> Iterator[AdminClient]:
    client = AdminClient(server.admin_port)
    yield client
    client.close()
