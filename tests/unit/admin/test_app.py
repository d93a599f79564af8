"""The admin application in process: readiness waits for first health results, errors are
JSON, the token is compared before anything else runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from resolver.admin.app import check_address, make_app
from resolver.config.schema import ServerConfig
from resolver.errors import ConfigError
from resolver.runtime import Runtime


class Board:
    def __init__(self) -> None:
        self.first_results = False

    def ready(self) -> bool:
        return self.first_results

    def pools_view(self) -> list[Any]:
        raise RuntimeError("boom")  # a failing core function: 500, JSON, logged


def server(tmp_path: Path, board: Board) -> Any:
    async def reload() -> None:
        return None

    return SimpleNamespace(config=ServerConfig(zones=str(tmp_path)), runtime=Runtime(tmp_path),
                           listeners=["127.0.0.1:5353"], handler=None, table=None,
                           routing=SimpleNamespace(board=board), reload=reload)


async def test_ready_once_every_check_has_a_result(tmp_path: Path) -> None:
    board = Board()
    async with TestClient(TestServer(make_app(server(tmp_path, board), "t"))) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert (await response.json())["waiting"] == ["health checks"]
        board.first_results = True
        assert (await client.get("/readyz")).status == 200


async def test_errors_are_json(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(server(tmp_path, Board()), "t")
    headers = {"Authorization": "Bearer t"}
    async with TestClient(TestServer(app)) as client:
        failed = await client.get("/api/v1/pools", headers=headers)
        assert failed.status == 500
        assert await failed.json() == {"error": "internal error; the server log has the "
                                       "details", "field": None}
        assert "boom" in caplog.text
        missing = await client.post("/api/v1/pools", headers=headers)
        assert missing.status == 405 and (await missing.json())["field"] is None
        assert missing.headers["Allow"]
        denied = await client.get("/api/v1/pools", headers={"Authorization": "Basic t"})
        assert denied.status == 401


async def test_no_token_refuses_every_api_call(tmp_path: Path) -> None:
    async with TestClient(TestServer(make_app(server(tmp_path, Board()), None))) as client:
        response = await client.get("/api/v1/status", headers={"Authorization": "Bearer "})
        assert response.status == 403
        assert (await client.get("/healthz")).status == 200


def test_admin_address() -> None:
    assert check_address("127.0.0.1:8053", None) == ("127.0.0.1", 8053)
    assert check_address("[::1]:9000", None) == ("::1", 9000)
    assert check_address("0.0.0.0:8053", "token") == ("0.0.0.0", 8053)
    with pytest.raises(ConfigError, match="without a token"):
        check_address("0.0.0.0:8053", None)
    with pytest.raises(ConfigError, match="without a token"):
        check_address("[::]:8053", "")
