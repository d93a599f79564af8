"""NXDOMAIN written without dnspython (resolver/authority/negative.py) equals the pipeline's.

Every request goes to a handler without the negative path (the pipeline, the reference) and
to one with it; the bytes must be identical. Each name also says whether the negative path
must answer it or leave it to the slow path (wildcards, cuts, DNAMEs, names that exist,
names in no zone), so the equality is not reached by always declining.
"""

from __future__ import annotations

import random
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from bench import gen_zone
from resolver.authority import negative
from resolver.authority.negative import NegativeAnswers
from resolver.authority.stage import AuthorityStage
from resolver.authority.zone import Dynamic
from resolver.fastpath import AnswerTable
from resolver.handler import QueryHandler, RecursionAcl
from resolver.model import Query, Routed
from resolver.pipeline import Guard, Pipeline
from resolver.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]

# SOA names in mixed case, partly inside the zone: the compression of the SOA's names into
# the question (``x.ns1``, ``q.hostmaster.mail``) is what the renderer must agree on.
NEG_ZONE = """\
$ORIGIN neg.test.
$TTL 3600
@        IN SOA NS1.Neg.Test. HostMaster.Mail.neg.test. 7 7200 3600 1209600 600
@        NS     ns1
ns1      A      192.0.2.1
www      A      192.0.2.2
a.b.c    A      192.0.2.3
*.wild   A      192.0.2.4
x.*.entwild TXT "under an empty non-terminal wildcard"
deleg    NS     ns.deleg
ns.deleg A      192.0.2.5
old      DNAME  new.example.
sub      NS     ns1.sub
ns1.sub  A      192.0.2.6
"""
SUB_ZONE = """\
$ORIGIN sub.neg.test.
@        60 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        NS     ns1
ns1      A      192.0.2.6
"""
CHILD_ZONE = """\
$ORIGIN child.neg.test.
@        IN SOA ns1.elsewhere.example. hostmaster.elsewhere.example. 1 7200 3600 1209600 30
@        NS     ns1.elsewhere.example.
"""
DNAME_ZONE = """\
$ORIGIN dn.test.
@        IN SOA ns1 hostmaster 1 7200 3600 1209600 30
@        NS     ns1.elsewhere.example.
@        DNAME  example.test.
"""
LONG = ".".join(["l" * 60] * 3)  # SOA names that cannot fit beside a long question in 512
LONGER = ".".join(["k" * 60] * 3)
LONG_ZONE = f"""\
$ORIGIN long.test.
@        IN SOA m.{LONG}.example. r.{LONGER}.example. 1 7200 3600 1209600 30
@        NS     ns1.elsewhere.example.
"""
ZONES = {"neg.test": NEG_ZONE, "sub.neg.test": SUB_ZONE, "child.neg.test": CHILD_ZONE,
         "dn.test": DNAME_ZONE, "long.test": LONG_ZONE}

LONG_NAME = ".".join(["q" * 60] * 3) + ".long.test"  # 194 octets: fits alone, not with the SOA
ANSWERED = (  # NXDOMAIN from the negative path
    "nx.neg.test", "deep.er.nx.neg.test", "Nx.NEG.Test", "x.ns1.neg.test", "X.NS1.neg.TEST",
    "y.mail.neg.test", "q.hostmaster.mail.neg.test", "z.c.neg.test", "z.b.c.neg.test",
    "z.a.b.c.neg.test", "x.app.neg.test", "x.sub.neg.test", "x.child.neg.test",
    "a.b.child.neg.test", "nx1.bench.test", "r4nd0m.bench.test", "nope.example.test",
    "x.y.example.test",
)
DECLINED = (  # left to the slow path: names that exist, wildcards, cuts, DNAMEs, no zone
    "neg.test", "www.neg.test", "b.c.neg.test", "c.neg.test", "foo.wild.neg.test",
    "a.b.wild.neg.test", "wild.neg.test", "q.entwild.neg.test", "host.deleg.neg.test",
    "deleg.neg.test", "a.ns.deleg.neg.test", "x.old.neg.test", "old.neg.test", "app.neg.test",
    "foo.dynwild.neg.test", "anything.dn.test", "dn.test", "sub.neg.test", "child.neg.test",
    "outside.invalid", "test", "w1.wild.bench.test", "x.apps.example.test",
    "host.sub1.bench.test",
)
NAMES = {**dict.fromkeys(ANSWERED, "nx"), **dict.fromkeys(DECLINED, "slow"), LONG_NAME: "nx-tcp"}
SHAPES: dict[str, dict[str, object]] = {
    "plain": {},
    "no-rd": {"flags": 0},
    "cd": {"flags": dns.flags.RD | dns.flags.CD},
    "ad": {"flags": dns.flags.RD | dns.flags.AD},
    "edns": {"use_edns": 0},
    "edns-100": {"use_edns": 0, "payload": 100},
    "edns-512": {"use_edns": 0, "payload": 512},
    "edns-4096-do": {"use_edns": 0, "payload": 4096, "want_dnssec": True},
    "do-no-rd": {"use_edns": 0, "want_dnssec": True, "flags": 0},
    "cookie": {"use_edns": 0, "options": [dns.edns.GenericOption(10, bytes(range(8)))]},
    "nsid": {"use_edns": 0, "options": [dns.edns.GenericOption(3, b"")]},
    # ECS: an NXDOMAIN depends on no client, the option goes back as it came (scope 0)
    "ecs-v4-24": {"use_edns": 0, "options": [dns.edns.ECSOption("192.0.2.0", 24)]},
    "ecs-v4-17-do": {"use_edns": 0, "want_dnssec": True,
                     "options": [dns.edns.ECSOption("198.51.128.0", 17)]},
    "ecs-v6-56": {"use_edns": 0, "options": [dns.edns.ECSOption("2001:db8:1:200::", 56)]},
    "ecs-v6-0-512": {"use_edns": 0, "payload": 512, "options": [dns.edns.ECSOption("::", 0)]},
    "ecs-after-cookie": {"use_edns": 0, "options": [
        dns.edns.GenericOption(10, bytes(range(8))), dns.edns.ECSOption("203.0.113.9", 32)]},
}


class FixedRouter:
    """Always the same A record: the negative path must never need a routing decision."""

    def select(self, entry: Dynamic, query: Query) -> Routed:
        rrset = dns.rrset.from_text(entry.name, entry.ttl, "IN", "A", "192.0.2.99")
        return Routed(rrset)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("zones")
    for origin, text in ZONES.items():
        (folder / f"{origin}.zone").write_text(text)
    (folder / "example.test.zone").write_text((REPO / "zones" / "example.test.zone").read_text())
    (folder / "bench.test.zone").write_text("\n".join(gen_zone.zone_lines(400)) + "\n")
    runtime = Runtime(folder)
    assert runtime.load_zones() == []
    origin = dns.name.from_text("neg.test")
    bound = {dns.name.from_text(n, origin): {1: Dynamic(dns.name.from_text(n, origin), 1, 30)}
             for n in ("app", "*.dynwild")}
    runtime.set_routing(FixedRouter(), {origin: bound})  # type: ignore[arg-type]
    return runtime


def make_handler(runtime: Runtime, recursion: bool, fast: bool) -> QueryHandler:
    pipeline = Pipeline([Guard(), AuthorityStage(lambda: runtime.snapshot)])
    handler = QueryHandler(pipeline, RecursionAcl(recursion, ["127.0.0.0/8"]), AnswerTable())
    if fast:
        handler.negative = NegativeAnswers(lambda: runtime.snapshot)
    return handler


def request(name: str, rdtype: str | int, shape: str, query_id: int = 0x2A2A,
            rdclass: int = 1) -> bytes:
    message = dns.message.make_query(name, rdtype, rdclass,
                                     **SHAPES[shape])  # type: ignore[arg-type]
    message.id = query_id
    return message.to_wire()


def compare(runtime: Runtime, data: bytes, transport: str = "udp", recursion: bool = False
            ) -> bool:
    """Assert both handlers give the same bytes and count the same; True if the negative
    path answered."""
    reference = make_handler(runtime, recursion, False)
    expected = reference.handle(data, "127.0.0.1", 53, transport)
    handler = make_handler(runtime, recursion, True)
    got = handler.handle(data, "127.0.0.1", 53, transport)
    assert isinstance(expected, bytes) and got == expected
    assert handler.counts == reference.counts  # /metrics counts it as the pipeline's answer
    assert handler.negative is not None
    return handler.negative.hits == 1


def cases() -> list[tuple[str, str, str, bool]]:
    out = [(name, shape, "udp", False) for name in NAMES for shape in SHAPES]
    out += [(name, "edns", "tcp", False) for name in NAMES]
    out += [(name, shape, "udp", True) for name in NAMES for shape in ("plain", "no-rd")]
    return out


@pytest.mark.parametrize(("name", "shape", "transport", "recursion"), cases())
def test_negative_equals_pipeline(runtime: Runtime, name: str, shape: str, transport: str,
                                  recursion: bool) -> None:
    data = request(name, "A", shape)
    answered = compare(runtime, data, transport, recursion)
    expect = NAMES[name]
    if expect == "nx-tcp":  # too long for UDP beside the SOA: the pipeline truncates
        expect = "nx" if transport == "tcp" or shape in (
            "edns", "edns-4096-do", "do-no-rd", "cookie", "nsid", "ecs-v4-24", "ecs-v4-17-do",
            "ecs-v6-56", "ecs-after-cookie") else "slow"
    assert answered == (expect == "nx")
    if answered:
        reply = dns.message.from_wire(make_handler(runtime, recursion, True).handle(
            data, "127.0.0.1", 53, transport))  # type: ignore[arg-type]
        assert reply.rcode() == dns.rcode.NXDOMAIN
        assert [r.rdtype for r in reply.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize("rdtype", [0, 1, 2, 6, 16, 28, 41, 43, 99, 249, 250, 251, 252, 253,
                                    254, 255, 256, 65280, 65535])
@pytest.mark.parametrize("rdclass", [1, 3, 254, 255])
def test_every_type_and_class(runtime: Runtime, rdtype: int, rdclass: int) -> None:
    """Types the guard answers (transfers) and classes it refuses are left to it."""
    for transport in ("udp", "tcp"):
        answered = compare(runtime, request("nx.neg.test", rdtype, "edns", rdclass=rdclass),
                           transport)
        assert answered == (rdtype not in (251, 252) and rdclass in (1, 255))


def test_random_names_in_every_letter_case(runtime: Runtime) -> None:
    rng = random.Random(7)
    for _ in range(300):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-09")
                        for _ in range(rng.randint(1, 63)))
        zone = rng.choice(["neg.test", "bench.test", "Example.TEST", "ns1.neg.test",
                           "mail.NEG.test", "child.neg.test"])
        name = f"{label}.{zone}" if rng.random() < 0.7 else f"{label}.{label[:5]}.{zone}"
        shape = rng.choice(list(SHAPES))
        assert compare(runtime, request(name, rng.choice(["A", "AAAA", "MX", "TXT"]), shape,
                                        rng.randrange(65536)))


@pytest.mark.parametrize("option", ["0001180ac00002", "00011100c633c0", "00031800c00002",
                                    "00012100c000020180", "00011800c000"])
def test_malformed_ecs_gets_formerr_not_nxdomain(runtime: Runtime, option: str) -> None:
    message = dns.message.make_query("nx.neg.test", "A", use_edns=0, options=[
        dns.edns.GenericOption(8, bytes.fromhex(option))])
    assert not compare(runtime, message.to_wire())
    reply = make_handler(runtime, False, True).handle(message.to_wire(), "127.0.0.1", 53, "udp")
    assert isinstance(reply, bytes) and reply[3] & 0xF == dns.rcode.FORMERR


def test_names_too_long_for_a_name_get_formerr(runtime: Runtime) -> None:
    """Labels adding up past 255 octets: dnspython's FORMERR, from the slow path."""
    labels = b"".join(b"\x3f" + b"a" * 63 for _ in range(4))  # 256 octets, 266 in all
    data = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels
    data += b"\x03neg\x04test\x00\x00\x01\x00\x01"
    assert not compare(runtime, data)
    reply = make_handler(runtime, False, True).handle(data, "127.0.0.1", 53, "udp")
    assert isinstance(reply, bytes) and reply[3] & 0xF == dns.rcode.FORMERR


def test_an_index_is_built_in_steps(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Until a zone's index is complete its queries take the slow path, with the same bytes."""
    monkeypatch.setattr(negative, "CHUNK", 5)
    handler = make_handler(runtime, False, True)
    answered = []
    for i in range(20):
        data = request(f"n{i}.neg.test", "A", "edns", i)
        expected = make_handler(runtime, False, False).handle(data, "127.0.0.1", 53, "udp")
        hits = handler.negative.hits  # type: ignore[union-attr]
        assert handler.handle(data, "127.0.0.1", 53, "udp") == expected
        answered.append(handler.negative.hits > hits)  # type: ignore[union-attr]
    assert answered[0] is False and answered[-1] is True
    assert answered == sorted(answered)  # once built, always answered


def test_a_swap_drops_replaced_zones(tmp_path: Path) -> None:
    (tmp_path / "neg.test.zone").write_text(NEG_ZONE)
    (tmp_path / "child.neg.test.zone").write_text(CHILD_ZONE)
    runtime = Runtime(tmp_path)
    assert runtime.load_zones() == []
    answers = NegativeAnswers(lambda: runtime.snapshot)
    runtime.on_swap(answers.swapped)
    data = request("late.neg.test", "A", "plain")
    assert answers.answer(data, len(data), False, False) is not None
    other = request("x.child.neg.test", "A", "plain")
    assert answers.answer(other, len(other), False, False) is not None
    child = runtime.snapshot.zones.get(dns.name.from_text("child.neg.test"))
    (tmp_path / "neg.test.zone").write_text(NEG_ZONE + "late A 192.0.2.7\n")
    assert runtime.refresh_zones() == []
    assert runtime.snapshot.zones.get(dns.name.from_text("child.neg.test")) is child
    assert answers.answer(data, len(data), False, False) is None  # it exists now
    zones = runtime.snapshot.zones
    kept = [getattr(entry, "zone", None) for entry in answers._indexes.values()]
    assert child in kept and all(z is None or zones.get(z.origin) is z for z in kept)


@pytest.mark.parametrize("bits", [(0x04, 0x00), (0x02, 0x00), (0x07, 0x7F), (0x00, 0x40),
                                  (0x00, 0x2F)])
def test_header_bits_the_reply_does_not_echo(runtime: Runtime, bits: tuple[int, int]) -> None:
    """AA, TC, Z, AD and an rcode in a request change nothing in the reply."""
    for shape in ("plain", "edns-4096-do"):
        data = bytearray(request("nx.neg.test", "A", shape))
        data[2] |= bits[0]
        data[3] |= bits[1]
        assert compare(runtime, bytes(data))


def test_a_root_zone(tmp_path: Path) -> None:
    (tmp_path / "root.zone").write_text(
        "$ORIGIN .\n@ 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 "
        "604800 86400\n@ NS a.root-servers.net.\nnet NS a.gtld.net.\na.gtld.net A 192.0.2.1\n"
        "root-servers.net NS a.root-servers.net.\na.root-servers.net A 192.0.2.2\n")
    runtime = Runtime(tmp_path)
    assert runtime.load_zones() == []
    for name in ("nope", "x.nope", "com", "verisign-grs.com", "NSTLD.verisign-grs.com"):
        assert compare(runtime, request(name, "A", "edns"))
    for name in (".", "net", "x.net", "x.root-servers.net"):
        assert not compare(runtime, request(name, "A", "edns"))
