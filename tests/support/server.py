"""Start the real server as a subprocess on loopback, for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from resolver.transport import sockets

REPO = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` (best effort)."""
    return sockets.free_port(host)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: never leave a server behind."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ResolverProcess:
    """``resolver serve`` in a subprocess; ``query`` sends real packets to it."""

    def __init__(
        self,
        zones: Path | str,
        *args: str,
        host: str = "127.0.0.1",
        port: int | None = None,
        policies: Path | str | None = None,
        recursion: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.admin_port = free_port("127.0.0.1")
        label = f"{self.port}" if port is None else f"{host}-{self.port}"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"resolver-{label}.log"
        listen = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        cmd = [
            sys.executable, "-m", "resolver", "serve", "--listen", listen,
            "--admin", f"127.0.0.1:{self.admin_port}", "--zones", str(zones),
        ]
        if policies is not None:
            cmd += ["--policies", str(policies)]
        if not recursion:
            cmd.append("--no-recursion")
        cmd += list(args)
        self.cmd = cmd
        # Recursion in tests never leaves loopback (resolver/recursion/upstream.py).
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "RESOLVER_UPSTREAM_LOOPBACK_ONLY": "1",
                    **(env or {})}
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd or REPO
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log()}")
            if "ready:" in self.log():
                return
            time.sleep(0.05)
        self.stop()  # never leave a half-started server behind
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(
        self, qname: str, qtype: str | int = "A", *, tcp: bool = False, timeout: float = 3.0,
        **make_query_args: object,
    ) -> dns.message.Message:
        request = dns.message.make_query(qname, qtype, **make_query_args)  # type: ignore[arg-type]
        send = dns.query.tcp if tcp else dns.query.udp
        return send(request, self.host, port=self.port, timeout=timeout)

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> int:
        stop_process(self.proc)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> ResolverProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
