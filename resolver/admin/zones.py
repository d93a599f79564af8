"""``/api/v1/zones``: list, read, create, delete, and change zones by batches.

Each handler reads the request, calls :class:`resolver.authority.writer.ZoneWriter` or the
runtime, and shapes the answer; the logic lives in :mod:`resolver.authority.edit`.
"""

from __future__ import annotations

from aiohttp import web

from resolver.admin.common import (
    SERVER,
    WRITER,
    error_reply,
    etag,
    if_match,
    origin_param,
    read_json,
    reply,
)
from resolver.authority.edit import parse_batch, serial_of, zone_json
from resolver.authority.load import ZoneData
from resolver.errors import InputError


def _summary(data: ZoneData) -> dict[str, object]:
    return {"name": data.origin.to_text(), "serial": serial_of(data), "file": data.path}


async def list_zones(request: web.Request) -> web.Response:
    zones = request.app[SERVER].runtime.zone_data()
    items = [{**_summary(d), "rrsets": sum(len(n) for n in d.rrsets.values())}
             for _, d in sorted(zones.items())]
    return reply({"zones": items})


async def get_zone(request: web.Request) -> web.Response:
    state = request.app[SERVER].runtime.zone_file(origin_param(request))
    if state is None:
        return error_reply(404, f"no zone {request.match_info['zone']}", "zone")
    data = state[0]
    return reply({**_summary(data), "rrsets": zone_json(data)}, headers=etag(serial_of(data)))


async def patch_zone(request: web.Request) -> web.Response:
    origin = origin_param(request)
    precondition = if_match(request)
    changes = parse_batch(await read_json(request), origin)
    data = await request.app[WRITER].patch(origin, changes, precondition)
    serial = serial_of(data)
    return reply({"name": origin.to_text(), "serial": serial, "changes": len(changes)},
                 headers=etag(serial))


async def create_zone(request: web.Request) -> web.Response:
    data = await request.app[WRITER].create(await read_json(request))
    location = f"/api/v1/zones/{data.origin.to_text(omit_final_dot=True)}"
    return reply(_summary(data), 201, {"Location": location, **etag(serial_of(data))})


async def delete_zone(request: web.Request) -> web.Response:
    origin = origin_param(request)
    if request.can_read_body and (await request.read()).strip():
        raise InputError("DELETE takes no body", None)
    kept = await request.app[WRITER].delete(origin, if_match(request))
    return reply({"name": origin.to_text(), "deleted": True, "file_kept_as": kept})


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/zones", list_zones)
    app.router.add_post(f"{base}/zones", create_zone)
    app.router.add_get(f"{base}/zones/{{zone}}", get_zone)
    app.router.add_patch(f"{base}/zones/{{zone}}", patch_zone)
    app.router.add_delete(f"{base}/zones/{{zone}}", delete_zone)
