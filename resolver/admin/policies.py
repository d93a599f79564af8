"""``/api/v1/policies/{zone}``: read a zone's policies; ``PUT`` or ``DELETE`` one record's
policy (JSON with the structure of the YAML). Validation and the atomic write are
:func:`resolver.config.policies.put_record` and ``delete_record``, the same checks as
``resolver check``; the routing service then reloads, so checks start or stop at once."""

from __future__ import annotations

import asyncio
from typing import Any

import dns.name
from aiohttp import web

from resolver.admin.common import SERVER, origin_param, read_json, reply, routing
from resolver.config import policies as files
from resolver.errors import InputError

LOCK: web.AppKey[asyncio.Lock] = web.AppKey("policy_lock")


def _zone(request: web.Request) -> dns.name.Name:
    origin = origin_param(request)
    if origin not in request.app[SERVER].runtime.zone_data():
        raise InputError(f"no zone {origin}", "zone", 404)
    return origin


def _name(request: web.Request) -> str:
    """The record's name as in the YAML: relative to the zone, ``@`` (or empty) the apex."""
    name = request.match_info["name"]
    return "" if name == "@" else name


async def get_policies(request: web.Request) -> web.Response:
    zone, service = _zone(request).to_text(), routing(request)
    document = await asyncio.to_thread(files.read_document, service.directory, zone)
    path = files.policy_path(service.directory, zone)
    return reply({"zone": zone, "file": str(path), "records": document})


async def put_policy(request: web.Request) -> web.Response:
    zone, name, service = _zone(request).to_text(), _name(request), routing(request)
    record = await read_json(request)
    if not isinstance(record, dict):
        raise InputError("the body must be one record's policy, a JSON object", None)
    async with request.app[LOCK]:
        zones = request.app[SERVER].runtime.zone_data()
        problems = await asyncio.to_thread(_put, service, zones, zone, name, record)
        if problems:
            raise InputError("; ".join(p.message for p in problems), name or "@", 422)
        await service.refresh()
    return reply({"zone": zone, "name": name or "@", "record": record})


def _put(service: Any, zones: Any, zone: str, name: str, record: dict[str, Any]) -> list[Any]:
    service.directory.mkdir(parents=True, exist_ok=True)
    return files.put_record(service.directory, zone, name, record,
                            shared=service.policies.shared, zones=zones)


async def delete_policy(request: web.Request) -> web.Response:
    zone, name, service = _zone(request).to_text(), _name(request), routing(request)
    async with request.app[LOCK]:
        if not await asyncio.to_thread(files.delete_record, service.directory, zone, name):
            raise InputError(f"{name or '@'} has no policy in zone {zone}", "name", 404)
        await service.refresh()
    return reply({"zone": zone, "name": name or "@", "deleted": True})


def add_routes(app: web.Application, base: str) -> None:
    app[LOCK] = asyncio.Lock()
    app.router.add_get(f"{base}/policies/{{zone}}", get_policies)
    app.router.add_put(f"{base}/policies/{{zone}}/{{name}}", put_policy)
    app.router.add_delete(f"{base}/policies/{{zone}}/{{name}}", delete_policy)
