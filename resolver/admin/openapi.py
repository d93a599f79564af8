"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of the admin API.

Written by hand from :data:`ROUTES`, one line per route; a test checks that the routes the
application serves and the ones described here are the same set.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from resolver import __version__
from resolver.admin.common import reply

# (method, path, summary, request body schema or None, success status, tag)
ROUTES: tuple[tuple[str, str, str, str | None, int, str], ...] = (
    ("GET", "/healthz", "Alive", None, 200, "operations"),
    ("GET", "/readyz", "Zones loaded and every health check has a first result", None, 200,
     "operations"),
    ("GET", "/metrics", "Prometheus text exposition", None, 200, "operations"),
    ("GET", "/api/v1/status", "Version, zones and serials, listeners, uptime", None, 200,
     "operations"),
    ("POST", "/api/v1/reload", "Read every zone and policy file again, in every worker (as "
     "SIGHUP); 504 if a worker did not confirm", None, 200, "operations"),
    ("GET", "/api/v1/openapi.json", "This document", None, 200, "operations"),
    ("GET", "/api/v1/zones", "Every zone served", None, 200, "zones"),
    ("POST", "/api/v1/zones", "Create a zone (and its file)", "NewZone", 201, "zones"),
    ("GET", "/api/v1/zones/{zone}", "A zone's RRsets; ETag is the serial", None, 200, "zones"),
    ("PATCH", "/api/v1/zones/{zone}",
     "Apply a batch of changes, all or nothing; If-Match: <serial>", "ChangeBatch", 200,
     "zones"),
    ("DELETE", "/api/v1/zones/{zone}", "Stop serving a zone; its file is kept as .deleted",
     None, 200, "zones"),
    ("GET", "/api/v1/policies/{zone}", "A zone's policies, as in its YAML file", None, 200,
     "policies"),
    ("PUT", "/api/v1/policies/{zone}/{name}", "Set one record's policy", "Policy", 200,
     "policies"),
    ("DELETE", "/api/v1/policies/{zone}/{name}", "Remove one record's policy", None, 200,
     "policies"),
    ("GET", "/api/v1/pools", "Every pool: member health, reason, RTT, role, lag", None, 200,
     "pools"),
    ("GET", "/api/v1/pools/{pool}", "One pool", None, 200, "pools"),
    ("PUT", "/api/v1/pools/{pool}/members/{value}", "Admin state of a member",
     "MemberState", 200, "pools"),
    ("GET", "/api/v1/replicas", "Replica-aware pools: role, lag, eligibility and why", None,
     200, "replicas"),
    ("PUT", "/api/v1/replicas/{pool}/{value}", "Push a member's role and lag, valid for ttl",
     "ReplicaPush", 200, "replicas"),
    ("POST", "/api/v1/explain", "The answer a client would get, and why", "Explain", 200,
     "explain"),
)

_RRSET = {
    "type": "object", "additionalProperties": False, "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "description": "@, a name relative to the zone, or an "
                 "FQDN (a trailing dot, or ending in the zone's name)"},
        "type": {"type": "string", "examples": ["A", "AAAA", "CNAME", "MX", "TXT"]},
        "ttl": {"type": "integer", "minimum": 0, "maximum": 2147483647},
        "records": {"type": "array", "minItems": 1, "maxItems": 1000,
                    "items": {"type": "string", "description": "zone-file rdata"}},
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "field"],
              "properties": {"error": {"type": "string"},
                             "field": {"type": ["string", "null"]}}},
    "Change": {**_RRSET, "required": ["action", "name", "type"],
               "properties": {**_RRSET["properties"],
                              "action": {"enum": ["CREATE", "UPSERT", "DELETE"]}}},
    "ChangeBatch": {"type": "object", "additionalProperties": False, "required": ["changes"],
                    "properties": {"changes": {"type": "array", "minItems": 1,
                                               "maxItems": 1000,
                                               "items": {"$ref": "#/components/schemas/Change"}},
                                   "comment": {"type": "string"}}},
    "NewZone": {"type": "object", "additionalProperties": False, "required": ["name"],
                "properties": {"name": {"type": "string"},
                               "ttl": {"type": "integer", "minimum": 0},
                               "nameservers": {"type": "array", "items": {"type": "string"}},
                               "rrsets": {"type": "array", "items": _RRSET}}},
    "Policy": {"type": "object", "description": "one record of policies/<zone>.yaml "
               "(type, ttl, values, dynamic: pools, rules, on_all_down; octodns.healthcheck)"},
    "MemberState": {"type": "object", "additionalProperties": False,
                    "required": ["admin_state"],
                    "properties": {"admin_state": {"enum": ["up", "down", "drain", "auto"]},
                                   "until": {"type": ["number", "string"],
                                             "description": "epoch seconds or RFC 3339"},
                                   "for": {"type": ["number", "string"],
                                           "description": "seconds or 10m, 2h"}}},
    "ReplicaPush": {"type": "object", "additionalProperties": False,
                    "required": ["role", "ttl"],
                    "properties": {"role": {"enum": ["primary", "replica"]},
                                   "lag_seconds": {"type": "number", "minimum": 0},
                                   "ttl": {"type": "number", "exclusiveMinimum": 0,
                                           "maximum": 86400}}},
    "Explain": {"type": "object", "additionalProperties": False,
                "required": ["name", "client"],
                "properties": {"name": {"type": "string"}, "type": {"type": "string"},
                               "client": {"type": "string"}, "ecs": {"type": "string"},
                               "down": {"type": "array", "items": {"type": "string"}}}},
}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, ok, tag in ROUTES:
        operation: dict[str, Any] = {
            "summary": summary, "tags": [tag],
            "responses": {str(ok): {"description": "success"},
                          "4XX": {"description": "bad request, unknown zone or pool, "
                                  "conflict, stale If-Match",
                                  "content": {"application/json": {"schema": {
                                      "$ref": "#/components/schemas/Error"}}}}},
        }
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{body}"}}}}
        if path.startswith("/api/v1/"):
            operation["security"] = [{"bearer": []}]
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "string"}} for name in re.findall(r"{(\w+)}", path)]
        if method in ("PATCH", "DELETE") and "{zone}" in path:
            parameters.append({"name": "If-Match", "in": "header", "required": False,
                               "schema": {"type": "string"},
                               "description": "the zone serial the change expects"})
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "resolver admin API", "version": __version__},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def openapi(request: web.Request) -> web.Response:
    return reply(document())


def add_routes(app: web.Application, base: str) -> None:
    app.router.add_get(f"{base}/openapi.json", openapi)
