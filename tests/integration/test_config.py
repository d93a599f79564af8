"""The TOML config file: its keys mirror the command-line flags, flags override the file, and
every problem names the file and line. The last tests start real servers from a config file."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import pytest

from resolver.cli import _FLAG_KEYS, _parser, config_from_args
from resolver.config.schema import ServerConfig
from resolver.errors import ConfigError
from tests.support.server import REPO, ResolverProcess, free_port

ZONES = REPO / "tests" / "data" / "serve" / "zones"
POLICIES = ZONES.parent / "policies"


def load(tmp_path: Path, toml: str, *flags: str, command: str = "serve") -> ServerConfig:
    path = tmp_path / "resolver.toml"
    path.write_text(toml)
    return config_from_args(_parser().parse_args([command, "--config", str(path), *flags]))


def config_error(tmp_path: Path, toml: str, *flags: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml, *flags)
    return str(caught.value)


def serve_flags() -> dict[str, argparse.Action]:
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    return {a.dest: a for a in serve._actions if a.dest not in ("help", "config")}


def test_every_flag_has_a_config_key() -> None:
    keys = {f.name for f in fields(ServerConfig)}
    flags = serve_flags()
    assert set(flags) <= keys
    assert set(flags) == set(_FLAG_KEYS)  # and each is passed on


def test_file_values_are_used(tmp_path: Path) -> None:
    config = load(tmp_path, """
listen = ["127.0.0.1:5400", "[::1]:5400"]
zones = "z"
policies = "p"
admin = "127.0.0.1:9053"
workers = 2
recursion = false
allow-recursion = ["10.0.0.0/8"]
log_level = "debug"
tcp_idle_timeout = 1.5
tcp_max_connections = 7
""")
    assert config.listen == ("127.0.0.1:5400", "[::1]:5400")
    assert (config.zones, config.policies, config.admin) == ("z", "p", "127.0.0.1:9053")
    assert (config.workers, config.recursion, config.allow_recursion) == (2, False,
                                                                          ("10.0.0.0/8",))
    assert (config.log_level, config.tcp_idle_timeout, config.tcp_max_connections) == (
        "debug", 1.5, 7)


def test_flags_override_the_file(tmp_path: Path) -> None:
    toml = """
listen = ["127.0.0.1:5400"]
zones = "from-file"
recursion = false
allow_recursion = ["10.0.0.0/8"]
tcp_idle_timeout = 30
log_level = "debug"
"""
    config = load(tmp_path, toml, "--listen", "127.0.0.1:5401", "--listen", "[::1]:5401",
                  "--zones", "from-flag", "--recursion", "--allow-recursion", "192.0.2.0/24",
                  "--tcp-idle-timeout", "2", "--log-level", "warning")
    assert config.listen == ("127.0.0.1:5401", "[::1]:5401")  # replaced, not merged
    assert config.zones == "from-flag"
    assert config.recursion is True
    assert config.allow_recursion == ("192.0.2.0/24",)
    assert (config.tcp_idle_timeout, config.log_level) == (2.0, "warning")
    assert load(tmp_path, "recursion = true\n", "--no-recursion").recursion is False


def test_defaults_without_file_or_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = config_from_args(_parser().parse_args(["serve"]))
    assert config == ServerConfig()
    assert config.listen == ("127.0.0.1:5353",) and config.recursion is True


def test_resolver_toml_in_the_working_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resolver.toml").write_text('zones = "here"\n')
    assert config_from_args(_parser().parse_args(["check"])).zones == "here"


def test_api_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOLVER_API_TOKEN", "from-env")
    assert load(tmp_path, 'api_token = "from-file"\n').api_token == "from-env"


@pytest.mark.parametrize(("toml", "expected"), [
    ('zones = "z"\nlisten = [\n', ":2: invalid TOML: Invalid value"),
    ('zones = "z"\n\nzones = "y"\n', ":3: invalid TOML: Cannot overwrite a value"),
    ('zones = "z"\nbogus = 1\n', ":2: unknown key 'bogus'"),
    ('workers = "two"\n', ":1: 'workers' has the wrong type (str)"),
    ("recursion = 1\n", ":1: 'recursion' has the wrong type (int)"),
    ("tcp_max_connections = true\n", ":1: 'tcp_max_connections' has the wrong type (bool)"),
    ('\n\nlisten = ["nowhere"]\n', ":3: 'listen': 'nowhere' is not ADDR:PORT"),
    ('listen = "127.0.0.1:70000"\n', ":1: 'listen': port 70000 out of range"),
    ('allow_recursion = ["10.0.0.0/33"]\n', ":1: 'allow_recursion': '10.0.0.0/33' is not"),
    ("workers = 0\n", ":1: 'workers': must be at least 1"),
    ("tcp_max_connections = 0\n", ":1: 'tcp_max_connections': must be at least 1"),
    ("tcp_idle_timeout = 0\n", ":1: 'tcp_idle_timeout': must be more than 0 seconds"),
    ('log_level = "loud"\n', ":1: 'log_level': must be one of"),
    ("[admin]\nport = 1\n", ":1: 'admin' has the wrong type (dict)"),
])
def test_file_problems_name_the_file_and_line(tmp_path: Path, toml: str, expected: str) -> None:
    message = config_error(tmp_path, toml)
    assert message.startswith(str(tmp_path / "resolver.toml") + expected), message


def test_flag_problems_name_the_flag(tmp_path: Path) -> None:
    assert config_error(tmp_path, "", "--workers", "0") == "--workers: must be at least 1"
    assert config_error(tmp_path, "", "--listen", "x") == "--listen: 'x' is not ADDR:PORT"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        config_from_args(_parser().parse_args(["serve", "--config", str(tmp_path / "no")]))


def test_check_reports_config_problems_as_file_line(tmp_path: Path) -> None:
    path = tmp_path / "resolver.toml"
    path.write_text(f'zones = "{ZONES}"\nworkers = -1\n')
    result = subprocess.run(
        [sys.executable, "-m", "resolver", "check", "--config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 1
    assert result.stdout == f"{path}:2: 'workers': must be at least 1\n"


def test_server_from_a_config_file(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "resolver.toml"
    path.write_text(
        f'listen = ["127.0.0.1:{port}"]\nzones = "{ZONES}"\npolicies = "{POLICIES}"\n'
        f'admin = "127.0.0.1:{free_port()}"\nrecursion = false\n'
    )
    cmd = [sys.executable, "-m", "resolver", "serve", "--config", str(path)]
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    try:
        reply = _query_until_up("127.0.0.1", port, proc, log_path)
        assert reply.answer and reply.answer[0].to_text().endswith("127.0.0.80")
        assert not reply.flags & dns.flags.RA  # recursion = false
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def test_flags_override_the_file_in_a_server(tmp_path: Path) -> None:
    file_port = free_port()
    path = tmp_path / "resolver.toml"
    path.write_text(f'listen = ["127.0.0.1:{file_port}"]\nzones = "/nonexistent"\n')
    with ResolverProcess(ZONES, "--config", str(path), policies=POLICIES) as proc:
        assert proc.port != file_port
        assert proc.query("www.example.test", "A").answer  # --zones won over the file
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", file_port))  # the file's port was not used


def _query_until_up(
    host: str, port: int, proc: subprocess.Popen[bytes], log_path: Path
) -> dns.message.Message:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log_path.read_text()
        try:
            return dns.query.udp(dns.message.make_query("www.example.test", "A"), host,
                                 port=port, timeout=0.5)
        except dns.exception.Timeout:
            assert time.monotonic() < deadline, log_path.read_text()
