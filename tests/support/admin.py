"""A small synchronous client for the admin API of a :class:`ResolverProcess`."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "test-token-4f1c"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or text when not JSON
    headers: dict[str, str]

    @property
    def error_field(self) -> tuple[int, str | None]:
        assert isinstance(self.body, dict) and "error" in self.body, self.body
        return self.status, self.body["field"]


class AdminClient:
    """One keep-alive connection to 127.0.0.1:<port>; ``call`` sends a request."""

    def __init__(self, port: int, token: str | None = TOKEN, timeout: float = 15.0) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, auth: bool = True) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"} if data is not None else {}
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=sent)
                response = conn.getresponse()
                text = response.read().decode()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = text
        return Reply(response.status, parsed, {k: v for k, v in response.getheaders()})

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def patch(self, zone: str, *changes: dict[str, Any], if_match: int | None = None) -> Reply:
        headers = {"If-Match": str(if_match)} if if_match is not None else None
        return self.call("PATCH", f"/api/v1/zones/{zone}", {"changes": list(changes)},
                         headers=headers)


def upsert(name: str, value: str, rtype: str = "A", ttl: int = 60) -> dict[str, Any]:
    return {"action": "UPSERT", "name": name, "type": rtype, "ttl": ttl, "records": [value]}


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metric_samples(api: AdminClient) -> Samples:
    """``GET /metrics`` parsed: (name, sorted labels) -> value."""
    reply = api.call("GET", "/metrics", auth=False)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.body) for s in family.samples}


def queries_counted(samples: Samples) -> float:
    """Every query answered: the pipeline's and the fast path's."""
    return sum(v for (name, _), v in samples.items() if name == "resolver_queries_total") + \
        samples[("resolver_fastpath_hits_total", ())]
