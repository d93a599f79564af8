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
```
Flags given on the command line win over the file; the file wins over the defaults.
"""

from __future__ import annotations

import ipaddress
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


_LIST_KEYS = {"listen", "allow_recursion", "forward"}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read and type-check a TOML config file; unknown keys and wrong types are errors."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(str(path), f"invalid TOML: {exc}", line) from None
    known = {f.name: f for f in fields(ServerConfig)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(str(path), f"unknown key '{key}'")
        out[name] = _coerce(str(path), key, name, value)
    return out


def _coerce(path: str, key: str, name: str, value: Any) -> Any:
    if name in _LIST_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, f"'{key}' must be a list of strings")
        return tuple(value)
    expected: dict[str, type | tuple[type, ...]] = {
        "workers": int, "recursion": bool, "tcp_max_connections": int,
        "tcp_idle_timeout": (int, float),
    }
    kind = expected.get(name, str)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(path, f"'{key}' has the wrong type ({type(value).__name__})")
    return value


def build_config(file_values: dict[str, Any], flag_values: dict[str, Any]) -> ServerConfig:
    """Defaults, then the file, then the flags that were given (not None)."""
    config = replace(ServerConfig(), **file_values)
    given = {k: v for k, v in flag_values.items() if v is not None}
    config = replace(config, **given)
    validate(config)
    return config


def validate(config: ServerConfig) -> None:
    for address in config.listen:
        parse_hostport(address, "listen")
    if config.admin:
        parse_hostport(config.admin, "admin")
    for network in config.allow_recursion:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError("allow_recursion", f"'{network}' is not a network") from None
    if config.workers < 1:
        raise ConfigError("workers", "must be at least 1")


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
