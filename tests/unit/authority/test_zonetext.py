"""Zone file text edited in place: what a person wrote stays (comments, layout, order,
directives); only the lines of changed RRsets move; the result always reads back as the
intended data."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import dns.name
import pytest

from resolver.authority.edit import apply_batch, parse_batch
from resolver.authority.load import ZoneData, parse_zone_file
from resolver.authority.writer import first_difference
from resolver.authority.zonetext import NotEditable, edit_text, scan
from resolver.errors import InputError

ORIGIN = dns.name.from_text("example.test.")
HAND = """; example.test, by hand
$ORIGIN example.test.
$TTL 3600
@               IN SOA  ns1.example.test. hostmaster.example.test. (
                        2026112801 ; serial
                        7200       ; refresh
                        3600       ; retry
                        1209600    ; expire
                        300 )      ; minimum
                NS      ns1
                MX      10 mail    ; the only MX
ns1             A       127.0.0.53
mail            A       127.0.0.25
                AAAA    2001:db8::25   ; v6 too
www   300       A       127.0.0.80
                A       127.0.0.81
txt             TXT     ( "part one"
                          "part two" )  ; two strings
ftp             CNAME   www
$GENERATE 1-3 host$ A 127.0.1.$
$ORIGIN sub.example.test.
deep            A       127.0.0.99      ; relative to sub
"""


def load(tmp_path: Path, text: str) -> ZoneData:
    path = tmp_path / "example.test.zone"
    path.write_text(text)
    return parse_zone_file(path)


def edit(tmp_path: Path, text: str, *changes: dict[str, Any]) -> str:
    """Apply ``changes`` to ``text`` in place and check the result reads back as intended."""
    data = load(tmp_path, text)
    edited = apply_batch(data, parse_batch({"changes": list(changes)}, ORIGIN))
    old = {k: data.rrsets.get(k[0], {}).get(k[1]) for k in edited.touched}
    new = {k: edited.data.rrsets.get(k[0], {}).get(k[1]) for k in edited.touched}
    out = edit_text(text, ORIGIN, old, new)
    again = parse_zone_file(Path(data.path), ORIGIN, text=out)
    assert first_difference(again, edited.data) is None, out
    return out


def added_and_removed(before: str, after: str) -> tuple[list[str], list[str]]:
    a, b = before.splitlines(), after.splitlines()
    return [line for line in b if line not in a], [line for line in a if line not in b]


def up(name: str, rtype: str, ttl: int, *records: str) -> dict[str, Any]:
    return {"action": "UPSERT", "name": name, "type": rtype, "ttl": ttl,
            "records": list(records)}


def test_serial_bump_touches_only_the_serial(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, up("www", "A", 300, "127.0.0.80", "127.0.0.81", "127.0.0.82"))
    added, removed = added_and_removed(HAND, out)
    assert removed == ["                        2026112801 ; serial"]
    assert added == ["                        2026112802 ; serial",
                     "www         300 A       127.0.0.82"]
    assert out.index("127.0.0.82") < out.index("txt ")  # beside its RRset


def test_removed_line_passes_its_owner_on(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, {"action": "DELETE", "name": "mail", "type": "A"})
    assert "mail            AAAA    2001:db8::25   ; v6 too\n" in out
    assert "127.0.0.25" not in out


def test_changed_record_takes_the_place_of_the_old_one(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, up("www", "A", 300, "127.0.0.80", "127.0.0.90"))
    added, removed = added_and_removed(HAND, out)
    assert "                A       127.0.0.81" in removed
    assert "www         300 A       127.0.0.90" in added
    assert out.index("127.0.0.80") < out.index("127.0.0.90") < out.index("txt ")


def test_ttl_change_edits_ttl_tokens(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, up("www", "A", 60, "127.0.0.80", "127.0.0.81"))
    assert "www   60        A       127.0.0.80\n" in out  # the columns stay
    assert "             60 A       127.0.0.81\n" in out
    out = edit(tmp_path, HAND, up("mail", "AAAA", 30, "2001:db8::25"))
    assert "             30 AAAA    2001:db8::25   ; v6 too\n" in out


def test_multiline_record_is_removed_whole(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, {"action": "DELETE", "name": "txt", "type": "TXT"})
    assert "part" not in out
    assert "ftp             CNAME   www\n" in out


def test_new_rrsets_go_beside_their_owner_or_at_the_end(tmp_path: Path) -> None:
    out = edit(tmp_path, HAND, up("mail", "TXT", 3600, '"mx here"'),
               up("brand-new", "A", 3600, "127.0.0.7"),
               up("x.sub", "A", 3600, "127.0.0.8"))
    lines = out.splitlines()
    assert lines[lines.index("                AAAA    2001:db8::25   ; v6 too") + 1] == \
        'mail            TXT     "mx here"'
    # at the end the origin is sub.example.test.: names are written relative to it
    assert lines[-2:] == ["brand-new.example.test. A       127.0.0.7",
                          "x               A       127.0.0.8"]


def test_generate_and_include_are_not_edited(tmp_path: Path) -> None:
    with pytest.raises(NotEditable, match=r"GENERATE"):
        edit(tmp_path, HAND, up("host1", "A", 3600, "127.0.0.5"))
    (tmp_path / "more.inc").write_text("inc A 127.0.0.66\n")
    text = HAND.replace("ftp             CNAME   www\n",
                        "ftp             CNAME   www\n$INCLUDE more.inc\n")
    with pytest.raises(NotEditable):
        edit(tmp_path, text, {"action": "DELETE", "name": "inc", "type": "A"})
    out = edit(tmp_path, text, up("inc", "TXT", 60, "x"))  # a new type beside it is fine
    assert "$INCLUDE more.inc" in out


def test_no_final_newline_and_no_ttl_directive(tmp_path: Path) -> None:
    text = "$ORIGIN example.test.\n@ 60 SOA ns1 h 1 2 3 4 5\n@ 60 NS ns1\nns1 60 A 127.0.0.1"
    out = edit(tmp_path, text, up("www", "A", 60, "127.0.0.2"))
    assert out.endswith("www          60 A       127.0.0.2\n")
    assert "@ 60 SOA ns1 h 2 2 3 4 5" in out


def test_scan_reads_owner_type_and_ttl_as_the_reader_does() -> None:
    names = {dns.name.from_text(n, ORIGIN) for n in ("www", "mail", "deep.sub", "@")}
    found = scan(HAND, ORIGIN, names)
    described = [(r.owner.to_text(), r.rdtype, r.ttl_at is not None) for r in found.records]
    assert described == [
        ("example.test.", 6, False), ("example.test.", 2, False), ("example.test.", 15, False),
        ("mail.example.test.", 1, False), ("mail.example.test.", 28, False),
        ("www.example.test.", 1, True), ("www.example.test.", 1, False),
        ("deep.sub.example.test.", 1, False),
    ]
    assert found.end_origin == dns.name.from_text("sub.example.test.")
    assert len(found.entries) == 15


def test_random_batches_always_read_back_as_intended(tmp_path: Path) -> None:
    """60 random batches in a row on the hand-written file; ``edit`` checks each result."""
    rng = random.Random(4)
    text = HAND
    names = ["www", "mail", "ns1", "txt", "new1", "new2", "deep.sub", "@"]
    refusals = 0
    for _ in range(60):
        changes = []
        for name in rng.sample(names, 2):
            rtype = rng.choice(["A", "TXT", "AAAA"])
            if rtype == "A":
                records = [f"127.0.2.{rng.randrange(1, 9)}" for _ in range(rng.randrange(1, 3))]
            elif rtype == "AAAA":
                records = [f"2001:db8::{rng.randrange(1, 9)}"]
            else:
                records = [f'"t{rng.randrange(9)}"']
            changes.append(up(name, rtype, rng.choice([60, 300, 3600]), *records))
        if rng.random() < 0.3:
            changes.append({"action": "DELETE", "name": "ftp", "type": "CNAME"}
                           if "\nftp " in text else up("ftp", "CNAME", 60, "www"))
        try:
            text = edit(tmp_path, text, *changes)
        except InputError as exc:  # a CNAME beside other data: refused, as it should be
            assert exc.status == 422, exc
            refusals += 1
    assert refusals < 30
    for comment in ("; the only MX", "; minimum", "; example.test, by hand"):
        assert comment in text
