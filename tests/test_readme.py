"""What README.md tells a newcomer is true: its config example loads, its scripts exist and
call what they say, and the example zones and policies it promises pass `resolver check`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from resolver.config.schema import build_config, load_config_file

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_config_example_loads(tmp_path: Path) -> None:
    (toml,) = _blocks("toml")
    path = tmp_path / "resolver.toml"
    path.write_text(toml)
    config = build_config(load_config_file(path), {})
    assert config.listen == ("127.0.0.1:5353", "[::1]:5353")
    assert config.tcp_max_connections == 1024


def test_the_two_commands_exist_and_ci_runs_the_test_command() -> None:
    shell = "\n".join(_blocks("sh"))
    assert "./scripts/serve.sh" in shell and "./.ci/run" in shell
    for script in ("scripts/serve.sh", "scripts/test.sh", ".ci/run"):
        assert os.access(REPO / script, os.X_OK), script
    assert "./scripts/test.sh" in (REPO / ".ci/run").read_text()
    assert "resolver serve" in (REPO / "scripts/serve.sh").read_text()


def test_shipped_zones_and_policies_pass_check() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "resolver", "check"], cwd=REPO, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_explain_examples_run() -> None:
    for line in "\n".join(_blocks("sh")).splitlines():
        if not line.startswith("resolver explain"):
            continue
        args = line.split("#", 1)[0].split()[1:] + ["--no-checks"]
        done = subprocess.run(
            [sys.executable, "-m", "resolver", *args], cwd=REPO, capture_output=True,
            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert done.returncode == 0, done.stderr
        assert "www.example.test. 30 IN A" in done.stdout
