"""The OpenAPI document describes exactly the routes the admin application serves."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from resolver.admin.app import make_app
from resolver.admin.openapi import document
from resolver.config.schema import ServerConfig
from resolver.runtime import Runtime


def test_openapi_matches_the_routes(tmp_path: Path) -> None:
    server = SimpleNamespace(config=ServerConfig(zones=str(tmp_path)), runtime=Runtime(tmp_path),
                             listeners=[], handler=None, table=None)
    app = make_app(server, "token")  # type: ignore[arg-type]
    served = {(route.method, route.resource.canonical) for route in app.router.routes()
              if route.method != "HEAD" and route.resource is not None}
    described = {(method.upper(), path) for path, item in document()["paths"].items()
                 for method in item}
    assert served == described
    for path, item in document()["paths"].items():
        for operation in item.values():
            secured = "security" in operation
            assert secured == path.startswith("/api/v1/"), path
