"""docker/: Docker cannot run here, so the files are checked for what they promise: the
compose file parses and everything it references exists, the Dockerfile copies files that
exist and runs as a non-root user with a health check, the container's config is valid and
agrees with the published ports, and the health-check script works against a real server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from resolver.config.schema import load_config_file, parse_hostport
from tests.support.server import REPO, ResolverProcess, free_port

DOCKER = REPO / "docker"
ZONES = REPO / "tests" / "data" / "serve" / "zones"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def service(compose: dict) -> dict:
    return compose["services"]["resolver"]


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """Instructions, with continuation lines joined and comments left out."""
    text = (DOCKER / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [line.strip() for line in text.splitlines() if line.strip()]


def instructions(dockerfile: list[str], keyword: str) -> list[str]:
    return [line[len(keyword):].strip() for line in dockerfile
            if line.upper().startswith(keyword + " ")]


def container_config() -> dict:
    return load_config_file(DOCKER / "resolver.toml")


def test_compose_build_references_exist(service: dict) -> None:
    context = (DOCKER / service["build"]["context"]).resolve()
    assert context == REPO
    assert (context / service["build"]["dockerfile"]).is_file()


def test_compose_bind_mounts_exist_and_match_the_config(service: dict, compose: dict) -> None:
    targets = {}
    for volume in service["volumes"]:
        source, target, *mode = volume.split(":")
        if source.startswith((".", "/")):
            assert (DOCKER / source).exists(), source
        else:
            assert source in compose["volumes"], f"undeclared volume {source}"
        targets[target] = source
    config = container_config()
    assert config["zones"] in targets and config["policies"] in targets
    assert (DOCKER / targets[config["zones"]]).resolve() == REPO / "zones"
    assert (DOCKER / targets[config["policies"]]).resolve() == REPO / "policies"
    assert "/etc/resolver/resolver.toml" in targets
    assert config["state_dir"] in targets


def test_compose_publishes_dns_and_admin(service: dict) -> None:
    published = set()
    for port in service["ports"]:
        spec = re.sub(r"\$\{[A-Z_]+:-(\d+)\}", r"\1", port)  # the defaults of ${VAR:-53}
        container, _, proto = spec.rsplit(":", 1)[1].partition("/")
        published.add((int(container), proto or "tcp"))
    config = container_config()
    dns_port = {parse_hostport(a, "listen")[1] for a in config["listen"]}
    admin_port = parse_hostport(config["admin"], "admin")[1]
    assert dns_port == {53}
    assert {(53, "udp"), (53, "tcp"), (admin_port, "tcp")} <= published
    assert service["sysctls"]["net.ipv4.ip_unprivileged_port_start"] <= 53


def test_container_config_is_valid_and_authoritative_only() -> None:
    config = container_config()
    assert config["listen"] == ("0.0.0.0:53",)
    assert config["recursion"] is False


def test_dockerfile(dockerfile: list[str]) -> None:
    bases = instructions(dockerfile, "FROM")
    assert bases and all(re.match(r"python:3\.\d+-slim", b) for b in bases)
    for copy in instructions(dockerfile, "COPY"):
        if copy.startswith("--from"):
            continue
        *sources, _target = copy.split()
        for source in sources:
            assert (REPO / source).exists(), source
    users = instructions(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0")
    assert set(" ".join(instructions(dockerfile, "EXPOSE")).split()) == {
        "53/udp", "53/tcp", "8053/tcp"}
    [healthcheck] = instructions(dockerfile, "HEALTHCHECK")
    assert "/usr/local/bin/resolver-healthcheck" in healthcheck
    assert any("docker/healthcheck.py /usr/local/bin/resolver-healthcheck" in c
               for c in instructions(dockerfile, "COPY"))
    [cmd] = instructions(dockerfile, "CMD")
    assert "/etc/resolver/resolver.toml" in cmd


def test_dockerignore_keeps_what_the_dockerfile_copies(dockerfile: list[str]) -> None:
    kept = {line[1:].rstrip("/") for line in
            (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
            if line.startswith("!")}
    for copy in instructions(dockerfile, "COPY"):
        if not copy.startswith("--from"):
            for source in copy.split()[:-1]:
                assert source.rstrip("/") in kept or source.startswith("./"), source


def healthcheck(address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DOCKER / "healthcheck.py")], capture_output=True, text=True,
        timeout=60, env={"RESOLVER_HEALTHCHECK_ADDR": address, "PYTHONPATH": str(REPO)},
    )


def test_healthcheck_script(tmp_path: Path) -> None:
    with ResolverProcess(ZONES, policies=ZONES.parent / "policies") as proc:
        result = healthcheck(f"127.0.0.1:{proc.port}")
        assert result.returncode == 0, result.stderr
        assert "healthy" in result.stdout
    result = healthcheck(f"127.0.0.1:{free_port()}")  # nothing listens there
    assert result.returncode == 1 and "unhealthy" in result.stderr
