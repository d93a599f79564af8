"""The server config: a TOML file whose keys mirror the command-line flags.

```toml
listen = ["127.0.0.1:5353", "[::1]:5353"]
zones = "zones"
policies = "policies"
admin = "127.0.0.1:8053"
api_token = "change-me"          # or RESOLVER_API_TOKEN
workers = 1
recursion = true                 # --no-recursion sets false
allow_recursion = ["127.0.0.0/8", "::1/128"]
root_hints = "/etc/resolver/root.hints"
forward = ["corp.example=127.0.0.53:53"]
geoip_db = "GeoLite2-City.mmdb"
state_dir = "/var/lib/resolver"
log_level = "info"
tcp_idle_timeout = 10            # seconds
tcp_max_connections = 1024
cache_size = 100000              # recursion: RRsets and negative answers held (LRU)
cache_min_ttl = 0
cache_max_ttl = 86400
cache_max_negative_ttl = 3600
serve_stale = false              # RFC 8767; stale answers go out with TTL 30
prefetch = true
qname_minimisation = true        # RFC 9156, relaxed
```
Flags given on the command line win over the file; the file wins over the defaults.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from resolver.errors import ConfigError

DEFAULT_LISTEN = ("127.0.0.1:5353",)
DEFAULT_ALLOW_RECURSION = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: tuple[str, ...] = DEFAULT_LISTEN
    zones: str = "zones"
    policies: str = "policies"
    admin: str | None = "127.0.0.1:8053"
    api_token: str | None = None
    workers: int = 1
    recursion: bool = True
    allow_recursion: tuple[str, ...] = DEFAULT_ALLOW_RECURSION
    root_hints: str | None = None
    forward: tuple[str, ...] = ()
    geoip_db: str | None = None
    state_dir: str | None = None
    log_level: str = "info"
    tcp_idle_timeout: float = 10.0
    tcp_max_connections: int = 1024
    # Recursion's cache and behaviour (config file only; see docs/recursion.md).
    cache_size: int = 100_000
    cache_min_ttl: int = 0
    cache_max_ttl: int = 86_400
    cache_max_negative_ttl: int = 3_600
    serve_stale: bool = False
    prefetch: bool = True
    qname_minimisation: bool = True


_LIST_KEYS = {"listen", "allow_recursion", "forward"}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read and check a TOML config file: unknown keys, wrong types and bad values are
    errors that name the file and the key's line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"cannot read config: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        line, detail = _toml_error(exc, text)
        raise ConfigError(str(path), f"invalid TOML: {detail}", line) from None
    known = {f.name: f for f in fields(ServerConfig)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        line = _line_of(text, key)
        if name not in known:
            raise ConfigError(str(path), f"unknown key '{key}'", line)
        out[name] = _coerce(str(path), key, name, value, line)
        problem = value_problem(name, out[name])
        if problem:
            raise ConfigError(str(path), f"'{key}': {problem}", line)
    return out


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int | None, str]:
    """(line, message): tomllib before Python 3.14 only puts the place in its message."""
    message = str(exc)
    place = re.search(r"\s*\(at (?:line (\d+), column \d+|end of document)\)", message)
    if place is None:
        return getattr(exc, "lineno", None), message
    detail = message[: place.start()] + message[place.end() :]
    if place.group(1):
        return int(place.group(1)), detail
    return max(1, len(text.splitlines())), detail  # the end of the document: its last line


def _line_of(text: str, key: str) -> int | None:
    """The line a top-level key is set on (best effort: for messages only)."""
    quoted = rf"""["']?{re.escape(key)}["']?"""
    pattern = re.compile(rf"^\s*(?:{quoted}\s*=|\[\s*{quoted}\s*\])")  # key = or [key]
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _coerce(path: str, key: str, name: str, value: Any, line: int | None = None) -> Any:
    if name in _LIST_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, f"'{key}' must be a list of strings", line)
        return tuple(value)
    expected: dict[str, type | tuple[type, ...]] = {
        "workers": int, "recursion": bool, "tcp_max_connections": int,
        "tcp_idle_timeout": (int, float),
        "cache_size": int, "cache_min_ttl": int, "cache_max_ttl": int,
        "cache_max_negative_ttl": int, "serve_stale": bool, "prefetch": bool,
        "qname_minimisation": bool,
    }
    kind = expected.get(name, str)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(path, f"'{key}' has the wrong type ({type(value).__name__})", line)
    return value


def build_config(file_values: dict[str, Any], flag_values: dict[str, Any]) -> ServerConfig:
    """Defaults, then the file, then the flags that were given (not None)."""
    config = replace(ServerConfig(), **file_values)
    given = {k: v for k, v in flag_values.items() if v is not None}
    config = replace(config, **given)
    validate(config)
    return config


def validate(config: ServerConfig) -> None:
    """Values the file did not set came from flags (the file's were checked as read)."""
    for item in fields(config):
        problem = value_problem(item.name, getattr(config, item.name))
        if problem:
            raise ConfigError("--" + item.name.replace("_", "-"), problem)


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def value_problem(name: str, value: Any) -> str | None:
    """What is wrong with one setting's value, or None; shared by the file and the flags."""
    try:
        if name == "listen":
            for address in value:
                parse_hostport(address, name)
        elif name == "admin" and value:
            parse_hostport(value, name)
    except ConfigError as exc:
        return exc.message
    if name == "allow_recursion":
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                return f"'{network}' is not a network"
    elif name in ("workers", "tcp_max_connections") and value < 1:
        return "must be at least 1"
    elif name == "tcp_idle_timeout" and not value > 0:
        return "must be more than 0 seconds"
    elif name == "log_level" and str(value).lower() not in LOG_LEVELS:
        return f"must be one of {', '.join(LOG_LEVELS)}"
    return None


def parse_hostport(text: str, what: str, default_port: int = 53) -> tuple[str, int]:
    """``127.0.0.1:5353``, ``[::1]:5353``, ``::1`` or ``127.0.0.1`` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        ipaddress.ip_address(host)
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigError(what, f"'{text}' is not ADDR:PORT") from None
    if not 0 <= port <= 65535:
        raise ConfigError(what, f"port {port} out of range")
    return host, port
