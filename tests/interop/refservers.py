"""Reference name servers (Knot, NSD) started on loopback for the differential tests.

Each server gets its own temporary folder for config, pid, database and run files, listens on
one 127.0.10.x address with a free port, answers only what the zone files say: no NOTIFY (no
``notify:`` targets are configured), no transfers (no ACL grants them), no recursion, no
rate limiting, no remote control. Each runs in the foreground as a child process, so stopping
it is killing one pid.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

from tests.support.server import free_port, stop_process

KNOTD = os.environ.get("KNOTD", "/usr/sbin/knotd")
NSD = os.environ.get("NSD", "/usr/sbin/nsd")
READY_PROBE = "interop.test."


def zone_origins(zones_dir: Path) -> list[str]:
    """Origins of the ``*.zone`` files in ``zones_dir``, named by their file names."""
    return sorted(p.name[: -len(".zone")] for p in zones_dir.glob("*.zone"))


_GENERATE = re.compile(r"^\$GENERATE\s+(\d+)-(\d+)(?:/(\d+))?\s+(\S+)\s+(.*)$", re.IGNORECASE)
_DOLLAR = re.compile(r"\$(\{(-?\d+)(?:,(\d+)(?:,([doxX]))?)?\})?")


def _substitute(template: str, value: int) -> str:
    def one(match: re.Match[str]) -> str:
        offset = int(match.group(2) or 0)
        width = int(match.group(3) or 0)
        base = match.group(4) or "d"
        return format(value + offset, f"0{width}{base}")

    return _DOLLAR.sub(one, template.replace("$$", "\0")).replace("\0", "$")


def expand_generate(text: str) -> str:
    """BIND's ``$GENERATE`` written out as plain records, for servers that lack it.

    Knot 3.2 and NSD 4.6 do not read ``$GENERATE``; our server does. The expansion here is
    written independently of ours (which is dnspython's), so the comparison still tests it.
    """
    out = []
    for line in text.splitlines():
        match = _GENERATE.match(line.split(";", 1)[0].strip())
        if match is None:
            out.append(line)
            continue
        start, stop, step = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
        owner, rest = match.group(4), match.group(5)
        for value in range(start, stop + 1, step):
            out.append(f"{_substitute(owner, value)} {_substitute(rest, value)}")
    return "\n".join(out) + "\n"


def copy_zones(src: Path, dst: Path) -> None:
    """Copy zone files and their includes, with ``$GENERATE`` expanded."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.is_file():
            (dst / path.name).write_text(expand_generate(path.read_text()))


def answers(host: str, port: int, qname: str = READY_PROBE) -> bool:
    """True once the server answers a SOA query for ``qname`` with NOERROR over UDP and TCP."""
    query = dns.message.make_query(qname, "SOA")
    try:
        udp = dns.query.udp(query, host, port=port, timeout=0.5)
        tcp = dns.query.tcp(query, host, port=port, timeout=0.5)
    except (OSError, dns.exception.DNSException):
        return False
    return udp.rcode() == dns.rcode.NOERROR and tcp.rcode() == dns.rcode.NOERROR


class ReferenceServer:
    """A name server in a child process; subclasses write the config and the command."""

    name = "reference"
    binary = ""

    def __init__(self, zones_dir: Path, workdir: Path, host: str) -> None:
        self.host = host
        self.port = free_port(host)
        self.workdir = workdir
        self.zones = workdir / "zones"
        copy_zones(zones_dir, self.zones)
        self.origins = zone_origins(zones_dir)
        self.log_path = workdir / f"{self.name}.log"
        cmd = self.command()
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.zones
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @classmethod
    def available(cls) -> bool:
        return os.access(cls.binary, os.X_OK) or shutil.which(cls.binary) is not None

    def command(self) -> list[str]:
        raise NotImplementedError

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            if answers(self.host, self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not answering after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


class Knot(ReferenceServer):
    name = "knot"
    binary = KNOTD

    def command(self) -> list[str]:
        rundir = self.workdir / "run"
        storage = self.workdir / "storage"
        rundir.mkdir(exist_ok=True)
        storage.mkdir(exist_ok=True)
        zones = "".join(f"  - domain: {origin}\n" for origin in self.origins)
        # As root, knotd would switch to the "knot" user after binding: stay root instead.
        user = "    user: root\n" if os.geteuid() == 0 else ""
        config = f"""\
server:
    rundir: "{rundir}"
{user}    listen: {self.host}@{self.port}
    identity: ""
    version: ""
database:
    storage: "{storage}"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{self.zones}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
{zones}"""
        path = self.workdir / "knot.conf"
        path.write_text(config)
        return [self.binary, "-c", str(path)]


class Nsd(ReferenceServer):
    name = "nsd"
    binary = NSD

    def command(self) -> list[str]:
        w = self.workdir
        zones = "".join(
            f"zone:\n    name: {origin}\n    zonefile: \"{self.zones / (origin + '.zone')}\"\n"
            for origin in self.origins
        )
        config = f"""\
server:
    ip-address: {self.host}@{self.port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{self.zones}"
    database: ""
    zonelistfile: "{w / 'zone.list'}"
    pidfile: "{w / 'nsd.pid'}"
    xfrdfile: "{w / 'xfrd.state'}"
    xfrdir: "{w}"
    logfile: "{w / 'nsd-internal.log'}"
    verbosity: 1
    hide-version: yes
    hide-identity: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
{zones}"""
        path = w / "nsd.conf"
        path.write_text(config)
        return [self.binary, "-d", "-c", str(path)]
