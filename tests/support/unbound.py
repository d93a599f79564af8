"""Unbound (from Debian) as a reference recursor on the offline tree, in a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query

CONFIG = """server:
    interface: {host}
    port: {port}
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    root-hints: "{hints}"
    module-config: "iterator"
    chroot: ""
    username: ""
    directory: "{tmp}"
    pidfile: "{tmp}/unbound.pid"
    logfile: "{tmp}/unbound.log"
    use-syslog: no
    verbosity: 1
    qname-minimisation: yes
    num-threads: 1
    local-zone: "test." nodefault
    local-zone: "alt." nodefault
    local-zone: "internal." nodefault
remote-control:
    control-enable: no
"""


def available() -> bool:
    return shutil.which("unbound") is not None or Path("/usr/sbin/unbound").exists()


class UnboundProcess:
    """``unbound -d`` with a generated config; ``stop`` ends it and removes the folder."""

    def __init__(self, host: str, port: int, hints: Path) -> None:
        self.host, self.port = host, port
        self.tmp = Path(tempfile.mkdtemp(prefix="unbound-"))
        config = self.tmp / "unbound.conf"
        config.write_text(CONFIG.format(host=host, port=port, hints=hints, tmp=self.tmp))
        binary = shutil.which("unbound") or "/usr/sbin/unbound"
        self.proc = subprocess.Popen([binary, "-d", "-c", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        probe = dns.message.make_query("localhost.", "A")  # answered locally, no recursion
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unbound exited {self.proc.returncode}: {self.log()}")
            try:
                dns.query.udp(probe, self.host, port=self.port, timeout=0.5)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"unbound not ready: {self.log()}")

    def log(self) -> str:
        path = self.tmp / "unbound.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> UnboundProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
