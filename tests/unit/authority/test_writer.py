"""The zone writer: a change is on disk (atomically) before it is served; a hand edit on
disk is merged, never overwritten; a hand edit that does not load refuses the change."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import dns.name
import dns.rdatatype
import pytest

from resolver.authority.edit import parse_batch, serial_of
from resolver.authority.load import parse_zone_file
from resolver.authority.writer import (
    TEMP_PREFIX,
    ChangedOnDisk,
    ZoneWriter,
    stamp,
    write_atomic,
)
from resolver.errors import InputError
from resolver.runtime import Runtime

ORIGIN = dns.name.from_text("example.test.")
ZONE = """; kept comment
$ORIGIN example.test.
$TTL 3600
@    SOA ns1 hostmaster 100 7200 3600 1209600 300
     NS  ns1
ns1  A   127.0.0.53
www  A   127.0.0.80 ; the web
$GENERATE 1-2 host$ A 127.0.1.$
"""


@pytest.fixture
def zones(tmp_path: Path) -> Path:
    folder = tmp_path / "zones"
    folder.mkdir()
    (folder / "example.test.zone").write_text(ZONE)
    return folder


@pytest.fixture
def runtime(zones: Path) -> Runtime:
    runtime = Runtime(zones)
    assert runtime.load_zones() == []
    return runtime


def batch(*changes: dict) -> tuple:  # type: ignore[type-arg]
    return parse_batch({"changes": list(changes)}, ORIGIN)


def up(name: str, value: str, rtype: str = "A") -> dict:  # type: ignore[type-arg]
    return {"action": "UPSERT", "name": name, "type": rtype, "ttl": 60, "records": [value]}


def served(runtime: Runtime, name: str, rtype: str = "A") -> set[str]:
    zone = runtime.snapshot.zones.get(ORIGIN)
    assert zone is not None
    entry = zone.get(dns.name.from_text(name, ORIGIN), dns.rdatatype.from_text(rtype))
    return {r.to_text() for r in entry} if entry is not None else set()


async def test_change_is_written_then_served(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    data = await writer.patch(ORIGIN, batch(up("api", "127.0.0.7")), None)
    assert serial_of(data) == 101
    assert served(runtime, "api") == {"127.0.0.7"}
    text = (zones / "example.test.zone").read_text()
    assert "; kept comment" in text and "; the web" in text and "$GENERATE" in text
    assert serial_of(parse_zone_file(zones / "example.test.zone")) == 101
    assert runtime.changed_files() == ([], [])  # the watcher will not reload our own write
    assert not list(zones.glob(TEMP_PREFIX + "*"))


async def test_hand_edit_is_merged_before_the_change(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    await writer.patch(ORIGIN, batch(up("first", "127.0.0.1")), None)
    path = zones / "example.test.zone"
    path.write_text(path.read_text() + "byhand A 127.0.0.2 ; typed in vi\n")
    await writer.patch(ORIGIN, batch(up("second", "127.0.0.3")), None)
    text = path.read_text()
    for piece in ("first", "byhand", "; typed in vi", "second"):
        assert piece in text
    assert served(runtime, "byhand") == {"127.0.0.2"}
    assert served(runtime, "first") == {"127.0.0.1"}


async def test_bad_hand_edit_refuses_the_change(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    path = zones / "example.test.zone"
    broken = path.read_text() + "oops A not-an-address\n"
    path.write_text(broken)
    with pytest.raises(InputError) as info:
        await writer.patch(ORIGIN, batch(up("api", "127.0.0.7")), None)
    assert info.value.status == 409
    assert "example.test.zone:9" in info.value.message
    assert path.read_text() == broken  # not touched
    assert served(runtime, "www") == {"127.0.0.80"}  # the last good version serves


async def test_stale_if_match_is_412(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    with pytest.raises(InputError) as info:
        await writer.patch(ORIGIN, batch(up("api", "127.0.0.7")), 99)
    assert (info.value.status, info.value.field) == (412, "If-Match")
    await writer.patch(ORIGIN, batch(up("api", "127.0.0.7")), 100)


async def test_generated_rrset_is_409_and_nothing_changes(runtime: Runtime,
                                                          zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    before = (zones / "example.test.zone").read_text()
    with pytest.raises(InputError) as info:
        await writer.patch(ORIGIN, batch(up("api", "127.0.0.7"), up("host1", "127.0.0.9")),
                           None)
    assert info.value.status == 409
    assert (zones / "example.test.zone").read_text() == before
    assert served(runtime, "api") == set()


async def test_concurrent_patches_are_all_applied(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones)
    await asyncio.gather(*(writer.patch(ORIGIN, batch(up(f"n{i}", f"127.0.3.{i}")), None)
                           for i in range(30)))
    data = parse_zone_file(zones / "example.test.zone")
    assert serial_of(data) == 130
    for i in range(30):
        assert served(runtime, f"n{i}") == {f"127.0.3.{i}"}


async def test_create_and_delete_zone(runtime: Runtime, zones: Path) -> None:
    writer = ZoneWriter(runtime, zones, clock=lambda: 1_800_000_000)
    data = await writer.create({"name": "new.test", "nameservers": ["ns1.example.test"]})
    assert data.path == str(zones / "new.test.zone")
    assert serial_of(data) == 2027011501
    assert dns.name.from_text("new.test.") in runtime.zone_data()
    with pytest.raises(InputError) as info:
        await writer.create({"name": "new.test", "nameservers": ["ns1.example.test"]})
    assert info.value.status == 409
    kept = await writer.delete(dns.name.from_text("new.test."), None)
    assert kept.endswith("new.test.zone.deleted") and os.path.exists(kept)
    assert dns.name.from_text("new.test.") not in runtime.zone_data()
    with pytest.raises(InputError) as info:
        await writer.delete(dns.name.from_text("new.test."), None)
    assert info.value.status == 404


def test_write_atomic_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "z.zone"
    path.write_text("one\n")
    seen = stamp(str(path))
    path.write_text("two, by hand\n")
    with pytest.raises(ChangedOnDisk):
        write_atomic(str(path), "three\n", seen)
    assert path.read_text() == "two, by hand\n"
    assert [p.name for p in tmp_path.iterdir()] == ["z.zone"]
    written = write_atomic(str(path), "four\n", stamp(str(path)))
    assert written == stamp(str(path)) and path.read_text() == "four\n"
    with pytest.raises(ChangedOnDisk):
        write_atomic(str(path), "five\n", None)  # create refuses an existing file


async def test_hand_edit_within_one_clock_tick_is_merged(runtime: Runtime,
                                                         zones: Path) -> None:
    """Same size, same inode, same mtime: the fingerprint cannot see it; the writer's check
    that the file reads back as what it serves does, and reads the file again."""
    path = zones / "example.test.zone"
    writer = ZoneWriter(runtime, zones)

    def edit_unseen(old: str, new: str) -> None:
        before = os.stat(path)
        path.write_text(path.read_text().replace(old, new))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert stamp(str(path)) == runtime.zone_file(ORIGIN)[1][0]  # type: ignore[index]

    edit_unseen("127.0.0.53", "127.0.0.59")  # an RRset the change does not touch
    await writer.patch(ORIGIN, batch(up("api", "127.0.0.7")), None)
    assert served(runtime, "ns1") == {"127.0.0.59"}
    assert served(runtime, "api") == {"127.0.0.7"}
    edit_unseen("127.0.0.80", "127.0.0.88")  # the RRset the change replaces
    await writer.patch(ORIGIN, batch(up("www", "127.0.0.90")), None)
    assert served(runtime, "www") == {"127.0.0.90"}
    assert "127.0.0.59" in path.read_text() and "127.0.0.7" in path.read_text()
