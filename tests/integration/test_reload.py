"""Reload without a restart: zone files edited, added, removed (or edited through an
``$INCLUDE``) on disk are served within about a second; SIGHUP reads every file again; an
invalid edit is logged with file:line and the last good version keeps serving.

Each test owns its zones, so they share one server. Waits poll with generous deadlines.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.message
import dns.rcode
import pytest

from tests.support.server import ResolverProcess

DEADLINE = 20.0  # seconds; the server polls every second, but the CPU is shared


def zone(origin: str, address: str, serial: int = 1, extra: str = "") -> str:
    return (
        f"$ORIGIN {origin}.\n"
        "$TTL 300\n"
        "@    SOA ns1 hostmaster ( " f"{serial} 3600 600 86400 60 )\n"
        "     NS  ns1\n"
        "ns1  A   127.0.0.53\n"
        f"www  A   {address}\n"
        f"{extra}"
    )


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zones")
    for name in ("edit", "broken", "semantic", "sighup", "renamed", "removed"):
        (folder / f"{name}.test.zone").write_text(zone(f"{name}.test", "10.0.0.1"))
    (folder / "include.test.zone").write_text(
        zone("include.test", "10.0.0.1") + "$INCLUDE include-part.inc\n")
    (folder / "include-part.inc").write_text("part A 10.0.1.1\n")
    return folder


@pytest.fixture(scope="module")
def server(zones: Path) -> Iterator[ResolverProcess]:
    with ResolverProcess(zones, policies=zones / "no-policies") as proc:
        yield proc
        assert proc.proc.poll() is None
        assert "Traceback" not in proc.log(), proc.log()


def lookup(proc: ResolverProcess, name: str) -> str:
    """The A records of ``name`` as text, or the rcode's name when there is no answer."""
    reply = proc.query(name, "A", timeout=5.0)
    if reply.answer:
        return " ".join(sorted(r.to_text() for r in reply.answer[0]))
    return dns.rcode.to_text(reply.rcode())


def wait_for(what: Callable[[], bool], message: str) -> float:
    """Seconds until ``what()`` is true; fails after ``DEADLINE``."""
    start = time.monotonic()
    while time.monotonic() - start < DEADLINE:
        if what():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {DEADLINE}s: {message}")


def wait_answer(proc: ResolverProcess, name: str, expected: str) -> float:
    seconds = wait_for(lambda: lookup(proc, name) == expected, f"{name} -> {expected}")
    print(f"\n{name} -> {expected} after {seconds:.2f}s")
    return seconds


def wait_log(proc: ResolverProcess, text: str) -> None:
    try:
        wait_for(lambda: text in proc.log(), f"a log line with {text!r}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the log:\n{proc.log()}") from None


def test_edit_is_served(server: ResolverProcess, zones: Path) -> None:
    assert lookup(server, "www.edit.test") == "10.0.0.1"
    (zones / "edit.test.zone").write_text(zone("edit.test", "10.0.0.22", serial=2))
    wait_answer(server, "www.edit.test", "10.0.0.22")
    wait_log(server, "zone edit.test. loaded from")


def test_new_file_is_served(server: ResolverProcess, zones: Path) -> None:
    assert lookup(server, "www.added.test") == "REFUSED"
    (zones / "added.test.zone").write_text(zone("added.test", "10.0.0.3"))
    wait_answer(server, "www.added.test", "10.0.0.3")


def test_removed_file_is_no_longer_served(server: ResolverProcess, zones: Path) -> None:
    assert lookup(server, "www.removed.test") == "10.0.0.1"
    (zones / "removed.test.zone").unlink()
    wait_answer(server, "www.removed.test", "REFUSED")
    wait_log(server, "removed.test.zone removed")


def test_editor_style_replace_is_served(server: ResolverProcess, zones: Path) -> None:
    """Editors write a new file and rename it over the old one."""
    temporary = zones / ".renamed.test.zone.swp"
    temporary.write_text(zone("renamed.test", "10.0.0.4", serial=2))
    os.replace(temporary, zones / "renamed.test.zone")
    wait_answer(server, "www.renamed.test", "10.0.0.4")


def test_included_file_edit_is_served(server: ResolverProcess, zones: Path) -> None:
    assert lookup(server, "part.include.test") == "10.0.1.1"
    (zones / "include-part.inc").write_text("part A 10.0.1.22\n")
    wait_answer(server, "part.include.test", "10.0.1.22")


def test_invalid_edit_keeps_the_last_good_version(server: ResolverProcess, zones: Path) -> None:
    path = zones / "broken.test.zone"
    assert lookup(server, "www.broken.test") == "10.0.0.1"
    path.write_text(zone("broken.test", "10.0.0.55", serial=2, extra="bad  A  10.0.0\n"))
    wait_log(server, f"{path}:7: ")  # the bad record is on line 7
    for _ in range(3):
        assert lookup(server, "www.broken.test") == "10.0.0.1"
    path.write_text(zone("broken.test", "10.0.0.66", serial=3))
    wait_answer(server, "www.broken.test", "10.0.0.66")


def test_invalid_edit_of_an_included_file_is_seen_when_fixed(
    server: ResolverProcess, zones: Path
) -> None:
    part = zones / "include-part.inc"
    wait_answer(server, "part.include.test", "10.0.1.22")  # the previous test's edit
    part.write_text("part A 10.0.1.33\nother A nonsense\n")
    wait_log(server, f"{part}:2: ")
    assert lookup(server, "part.include.test") == "10.0.1.22"
    part.write_text("part A 10.0.1.44\n")  # fixing the included file alone is enough
    wait_answer(server, "part.include.test", "10.0.1.44")


def test_checks_apply_on_reload(server: ResolverProcess, zones: Path) -> None:
    """What ``resolver check`` rejects is rejected on reload: CNAME beside other data."""
    path = zones / "semantic.test.zone"
    path.write_text(zone("semantic.test", "10.0.0.77", serial=2,
                         extra="; a comment\nwww  CNAME ns1\n"))
    wait_log(server, f"{path}:8: CNAME and other data at www.semantic.test.")
    assert lookup(server, "www.semantic.test") == "10.0.0.1"


def test_invalid_new_file_is_not_served(server: ResolverProcess, zones: Path) -> None:
    path = zones / "nons.test.zone"
    path.write_text("$ORIGIN nons.test.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\nwww A 10.0.0.8\n")
    wait_log(server, f"{path}:1: zone nons.test. has no NS records at its apex")
    assert lookup(server, "www.nons.test") == "REFUSED"
    path.write_text(zone("nons.test", "10.0.0.88"))
    wait_answer(server, "www.nons.test", "10.0.0.88")


def test_a_second_file_for_a_served_zone_is_rejected(
    server: ResolverProcess, zones: Path
) -> None:
    path = zones / "edit-copy.zone"
    path.write_text(zone("edit.test", "10.0.0.99", serial=9))
    wait_log(server, f"{path}:1: zone edit.test. is also defined in")
    assert lookup(server, "www.edit.test") != "10.0.0.99"
    path.unlink()


def test_sighup_reads_every_file_again(server: ResolverProcess, zones: Path) -> None:
    """An edit that keeps the file's size, inode and modification time escapes the poll;
    SIGHUP reads it anyway."""
    path = zones / "sighup.test.zone"
    assert lookup(server, "www.sighup.test") == "10.0.0.1"
    before = path.stat()
    with open(path, "r+") as f:  # same inode, same size
        f.write(zone("sighup.test", "10.0.0.2"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)
    time.sleep(1.5)  # at least one poll: it cannot see this edit
    assert lookup(server, "www.sighup.test") == "10.0.0.1"
    server.reload()
    wait_answer(server, "www.sighup.test", "10.0.0.2")
    wait_log(server, "reload requested")
