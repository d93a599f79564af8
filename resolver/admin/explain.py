"""``POST /api/v1/explain``: the answer a client would get and why, the same trace as
``resolver explain``, optionally as if the ``down`` members were down."""

from __future__ import annotations

from aiohttp import web

from resolver.admin.common import read_json, reply, routing
from resolver.authority.edit import expect_object
from resolver.errors import InputError
from resolver.routing.explain import ExplainRequest

FIELDS = {"name", "type", "client", "ecs", "down"}


async def explain(request: web.Request) -> web.Response:
    body = expect_object(await read_json(request), "", FIELDS)
    for key in ("name", "client"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise InputError(f"'{key}' is required (a string)", key)
    for key in ("type", "ecs"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise InputError(f"'{key}' must be a string", key)
    down = body.get("down", [])
    if not isinstance(down, list) or not all(isinstance(d, str) for d in down):
        raise InputError("'down' must be a list of members (values or pool/value)", "down")
    ask = ExplainRequest(body["name"], body["client"], body.get("type") or "A",
                         body.get("ecs"), tuple(down))
    try:
        return reply(routing(request).explain(ask).to_dict())
    except ValueError as exc:
        raise InputError(str(exc), getattr(exc, "field", None)) from None


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_post(f"{base}/explain", explain)
