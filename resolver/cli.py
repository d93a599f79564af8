"""Command line: ``resolver serve | check | explain``, ``resolver --version``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from resolver import __version__
from resolver.config.schema import ServerConfig, build_config, load_config_file
from resolver.errors import ConfigError

DEFAULT_CONFIG = "resolver.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resolver", description=__doc__)
    parser.add_argument("--version", action="version", version=f"resolver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="answer DNS queries")
    _common(serve)
    serve.add_argument("--listen", action="append", metavar="ADDR:PORT")
    serve.add_argument("--admin", metavar="ADDR:PORT")
    serve.add_argument("--workers", type=int)
    serve.add_argument("--no-recursion", dest="recursion", action="store_const", const=False)
    serve.add_argument("--recursion", dest="recursion", action="store_const", const=True,
                       help="recurse even if the config file says not to")
    serve.add_argument("--allow-recursion", action="append", metavar="CIDR")
    serve.add_argument("--root-hints", metavar="FILE")
    serve.add_argument("--forward", action="append", metavar="ZONE=ADDR[:PORT]")
    serve.add_argument("--state-dir", metavar="DIR")
    serve.add_argument("--log-level", metavar="LEVEL")
    serve.add_argument("--tcp-idle-timeout", type=float, metavar="SECONDS")
    serve.add_argument("--tcp-max-connections", type=int, metavar="N")

    check = commands.add_parser("check", help="validate config, zones and policies")
    _common(check)

    explain = commands.add_parser("explain", help="show the answer a client would get, and why")
    explain.add_argument("name")
    explain.add_argument("type", nargs="?", default="A")
    explain.add_argument("--client", required=True, metavar="IP")
    explain.add_argument("--ecs", metavar="SUBNET")
    explain.add_argument("--down", action="append", default=[], metavar="MEMBER")
    explain.add_argument("--no-checks", action="store_true",
                         help="do not probe backends; members count as up")
    _common(explain)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE")
    parser.add_argument("--zones", metavar="DIR")
    parser.add_argument("--policies", metavar="DIR")
    parser.add_argument("--geoip-db", metavar="FILE.mmdb")


_FLAG_KEYS = (
    "listen", "zones", "policies", "admin", "workers", "recursion", "allow_recursion",
    "root_hints", "forward", "geoip_db", "state_dir", "log_level", "tcp_idle_timeout",
    "tcp_max_connections",
)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """The config file named by --config (or ./resolver.toml if present), then the flags."""
    file_values: dict[str, Any] = {}
    path = args.config or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).is_file() else None)
    if path:
        file_values = load_config_file(path)
    flags: dict[str, Any] = {}
    for key in _FLAG_KEYS:
        value = getattr(args, key, None)
        if isinstance(value, list):
            value = tuple(value)
        flags[key] = value
    if os.environ.get("RESOLVER_API_TOKEN"):
        flags["api_token"] = os.environ["RESOLVER_API_TOKEN"]
    return build_config(file_values, flags)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        if args.command == "check":  # a problem like any other: FILE:LINE: message
            print(exc)
            return 1
        print(f"resolver: {exc}", file=sys.stderr)
        return 2 if args.command == "serve" else 1
    if args.command == "serve":
        return _serve(config)
    if args.command == "check":
        from resolver.check import run_check

        return run_check(config)
    from resolver.explain_cli import run_explain

    return run_explain(config, args)


def _serve(config: ServerConfig) -> int:
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from resolver.app import serve

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    if config.workers > 1:
        from resolver.workers import prepare_worker, supervise

        try:
            return supervise(
                config, lambda own, ready: runner(serve(own, ready, prepare_worker))
            )
        except OSError as exc:
            logging.getLogger("resolver.workers").error("cannot start the workers: %s", exc)
            return 2
    try:
        return runner(serve(config))
    except KeyboardInterrupt:
        return 0
