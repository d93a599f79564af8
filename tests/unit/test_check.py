"""``resolver check``: one ``FILE:LINE: message`` per problem, exit 1 on any; the same
validation the server runs at startup and on reload. Where BIND's named-checkzone is
installed, a few cases are compared with it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from resolver.check import collect_problems, run_check
from resolver.cli import main
from resolver.config.schema import ServerConfig
from resolver.runtime import Runtime

HEAD = """$ORIGIN {origin}.
$TTL 300
@    SOA ns1 hostmaster (
         1 3600 600 86400 60 )
     NS  ns1
ns1  A   127.0.0.53
"""  # six lines: whatever a case adds starts on line 7

# name -> (lines after HEAD, expected "LINE: message" start); the zone is <name>.test.
CASES = {
    "syntax": ("www A 10.0.0\n", "7: Text input is malformed: www A 10.0.0"),
    "badtype": ("ok A 10.0.0.1\nwww NOPE 1\n", "8: unknown rdatatype 'NOPE'"),
    "multiline": ("www MX ( 10\n  mail\n", "7: unbalanced parentheses: www MX ( 10"),
    "directive": ("$TTL soon\n", "7: DNS TTL value is not well-formed: $TTL soon"),
    "generate": ("$GENERATE 1-3 h$ A 10.0.0.$\n$GENERATE 1-3 g$ A 10.x.0.$\n",
                 "8: Text input is malformed: $GENERATE"),
    "cname": ("www CNAME ns1\nwww TXT \"beside\"\n",
              "7: CNAME and other data at www.cname.test. (TXT)"),
    "outside": ("; comment\nwww.example.org. A 10.0.0.1\n",
                "8: www.example.org. is outside the zone outside.test."),
    "glue": ("sub NS ns.sub\n", "7: NS ns.sub.glue.test. of sub.glue.test. has no address "
             "records (glue)"),
    "apexns": ("@ NS ns2\n", "5: NS ns2.apexns.test. of apexns.test. has no address records"),
    "twosoa": ("@ SOA ns1 h 2 2 2 2 2\n", "7: twosoa.test. has more than one SOA record"),
    "twocname": ("www CNAME a\nwww CNAME b\n", "8: www.twocname.test. has more than one CNAME"),
    "soaelsewhere": ("x SOA ns1 h 2 2 2 2 2\n",
                     "7: SOA record at x.soaelsewhere.test., which is not the zone apex"),
}


def write_zone(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.test.zone"
    path.write_text(HEAD.format(origin=f"{name}.test") + body)
    return path


def check(folder: Path, tmp_path: Path) -> list[str]:
    policies = tmp_path / "no-policies"
    policies.mkdir(exist_ok=True)
    _, problems = collect_problems(ServerConfig(zones=str(folder), policies=str(policies)))
    return [str(p) for p in problems]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_problem_kind_names_file_and_line(tmp_path: Path, name: str) -> None:
    body, expected = CASES[name]
    path = write_zone(tmp_path, name, body)
    problems = check(tmp_path, tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{expected}"), problems


def test_missing_soa_and_ns(tmp_path: Path) -> None:
    path = tmp_path / "bare.test.zone"
    path.write_text("$ORIGIN bare.test.\n$TTL 60\nwww A 10.0.0.1\n")
    assert check(tmp_path, tmp_path) == [
        f"{path}:1: zone bare.test. has no SOA record at its apex",
        f"{path}:1: zone bare.test. has no NS records at its apex",
    ]


def test_problem_in_an_included_file(tmp_path: Path) -> None:
    (tmp_path / "part.inc").write_text("a A 10.0.0.1\n\nb A 10.0\n")
    write_zone(tmp_path, "inc", "$INCLUDE part.inc\n")
    assert check(tmp_path, tmp_path) == [f"{tmp_path / 'part.inc'}:3: Text input is malformed: "
                                         "b A 10.0"]


def test_nested_includes_are_relative_to_the_zone_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.inc").write_text("a A 10.0.0.1\n$INCLUDE sub/two.inc\n")
    (tmp_path / "sub" / "two.inc").write_text("b A 10.0.0.x\n")
    write_zone(tmp_path, "nested", "$INCLUDE sub/one.inc\n")
    assert check(tmp_path, tmp_path) == [
        f"{tmp_path / 'sub' / 'two.inc'}:1: Text input is malformed: b A 10.0.0.x"]


def test_missing_include(tmp_path: Path) -> None:
    path = write_zone(tmp_path, "noinc", "\n$INCLUDE gone.inc\n")
    assert check(tmp_path, tmp_path) == [
        f"{path}:8: cannot read {tmp_path / 'gone.inc'}: No such file or directory"]


def test_several_files_and_problems_in_file_line_order(tmp_path: Path) -> None:
    a = write_zone(tmp_path, "a", "x CNAME ns1\nx A 10.0.0.1\ny.other. A 10.0.0.2\n")
    b = write_zone(tmp_path, "b", "www A nope\n")
    write_zone(tmp_path, "c", "www A 10.0.0.3\n")
    problems = check(tmp_path, tmp_path)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{a}:7", f"{a}:9", f"{b}:7"]


def test_two_files_for_one_zone(tmp_path: Path) -> None:
    """The second file in name order is the one reported (and, at startup, the reason the
    server does not start)."""
    first = tmp_path / "dup-again.zone"
    first.write_text(HEAD.format(origin="dup.test"))
    second = write_zone(tmp_path, "dup", "")
    assert check(tmp_path, tmp_path) == [
        f"{second}:1: zone dup.test. is also defined in {first}"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.test.zone"
    path.write_bytes(b"\xff\xfe$TTL 60\n")
    [problem] = check(tmp_path, tmp_path)
    assert problem.startswith(f"{path}:1: cannot read zone file")


def test_the_server_loads_what_check_accepts_and_rejects_the_rest(tmp_path: Path) -> None:
    """Shared code: startup (and reload) see exactly the problems ``check`` prints."""
    for name, (body, _) in CASES.items():
        write_zone(tmp_path, name, body)
    write_zone(tmp_path, "good", "www A 10.0.0.1\n")
    startup = [str(p) for p in Runtime(tmp_path).load_zones()]
    assert sorted(startup) == sorted(check(tmp_path, tmp_path))
    assert len(startup) == len(CASES)


def test_exit_status_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    zones = tmp_path / "zones"
    zones.mkdir()
    write_zone(zones, "good", "www A 10.0.0.1\n")
    assert main(["check", "--zones", str(zones), "--policies", str(policies)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "ok: 1 zone file(s) valid" in err
    bad = write_zone(zones, "bad", "www A 10.0.0\n")
    assert main(["check", "--zones", str(zones), "--policies", str(policies)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{bad}:7: Text input is malformed: www A 10.0.0\n"
    assert "1 problem(s) found" in err
    assert run_check(ServerConfig(zones=str(zones), policies=str(policies))) == 1


def test_the_example_zones_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    config = ServerConfig(zones=str(root / "zones"), policies=str(root / "policies"))
    assert collect_problems(config)[1] == []


# -- named-checkzone, where installed -----------------------------------------------------
NAMED_CHECKZONE = shutil.which("named-checkzone")
# Cases both tools reject. (BIND only warns about out-of-zone data and missing glue under a
# delegation; we reject both, as the product's checks require.)
BOTH_REJECT = ("syntax", "badtype", "cname", "apexns", "generate", "twosoa", "twocname")
# Where BIND names a line, it is ours too; but for CNAME beside other data it names the later
# record, and we the CNAME.
SAME_LINE = ("syntax", "badtype", "generate", "twosoa", "twocname")


@pytest.mark.skipif(NAMED_CHECKZONE is None, reason="named-checkzone (bind9-utils) not installed")
@pytest.mark.parametrize("name", BOTH_REJECT)
def test_named_checkzone_agrees(tmp_path: Path, name: str) -> None:
    body, expected = CASES[name]
    path = write_zone(tmp_path, name, body)
    assert NAMED_CHECKZONE is not None
    named = subprocess.run([NAMED_CHECKZONE, "-i", "local", f"{name}.test", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert named.returncode != 0, named.stdout
    ours = check(tmp_path, tmp_path)
    assert len(ours) == 1
    if name in SAME_LINE:
        line = named.stdout.split(f"{path}:", 1)[1].split(":", 1)[0]
        assert ours[0].startswith(f"{path}:{line}:"), (named.stdout, ours)


@pytest.mark.skipif(NAMED_CHECKZONE is None, reason="named-checkzone (bind9-utils) not installed")
def test_named_checkzone_accepts_the_example_zone() -> None:
    zone = Path(__file__).resolve().parents[2] / "tests" / "data" / "serve" / "zones"
    named = subprocess.run(
        [NAMED_CHECKZONE, "-i", "local", "example.test", str(zone / "example.test.zone")],
        capture_output=True, text=True, timeout=60)
    assert named.returncode == 0, named.stdout
