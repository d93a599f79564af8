"""Robustness: thousands of broken packets over UDP and TCP, idle, half-framed and
trickling TCP clients, pipelining and the connection cap. Afterwards the server still answers
over UDP and TCP, and its log holds no traceback.

Every request whose header can be read (12 bytes, QR clear) must be answered, FORMERR at
worst; others must be dropped (over TCP: the connection is closed). Every reply must parse,
carry the request's ID, never be SERVFAIL (no stage may crash on these), fit the UDP size
the request allows, and echo the request's question exactly when it has one.
Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import errno
import random
import select
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import dns.message
import dns.rcode
import pytest

from tests.support.mutations import KINDS, client_subnet, valid_query, wants_reply, with_id
from tests.support.server import REPO, ResolverProcess

SEED = 20261128
UDP_PER_KIND = 600  # x 10 kinds
UDP_BATCH = 40  # fuzz packets between two liveness probes
ROUTED_PACKETS = 1500  # against the example zones with their routing policies
TCP_FRAMED = 500
TCP_PREFIXES = 60
TCP_STREAMS = 120
ZONES = REPO / "tests" / "data" / "serve" / "zones"
POLICIES = ZONES.parent / "policies"  # none: every answer comes from the zone file
WAIT = 15.0  # generous: other test suites share the CPU
ALLOWED_RCODES = {
    dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.FORMERR, dns.rcode.NOTIMP,
    dns.rcode.REFUSED, dns.rcode.YXDOMAIN, dns.rcode.BADVERS,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    config = tmp_path_factory.mktemp("robust") / "resolver.toml"
    config.write_text("tcp_idle_timeout = 1\n")
    with ResolverProcess(ZONES, "--config", str(config), policies=POLICIES) as proc:
        yield proc
        assert_healthy(proc)


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory):
    config = tmp_path_factory.mktemp("capped") / "resolver.toml"
    config.write_text("tcp_idle_timeout = 60\ntcp_max_connections = 5\n")
    with ResolverProcess(ZONES, "--config", str(config), policies=POLICIES) as proc:
        yield proc
        assert_healthy(proc)


# -- checks -------------------------------------------------------------------------------
def check_reply(sent: bytes, reply: bytes, transport: str, servfail_ok: bool = False) -> int:
    """Assert ``reply`` is a sound answer to ``sent``; return its rcode."""
    assert len(reply) >= 12 and reply[:2] == sent[:2], (sent.hex(), reply.hex())
    assert reply[2] & 0x80, f"QR clear in a reply: {reply.hex()}"
    message = dns.message.from_wire(reply)
    rcode = message.rcode()
    allowed = ALLOWED_RCODES | ({dns.rcode.SERVFAIL} if servfail_ok else set())
    assert rcode in allowed, f"{dns.rcode.to_text(rcode)} for {sent.hex()}"
    if transport == "udp":
        assert len(reply) <= (1232 if message.opt else 512), sent.hex()
    if message.question:
        asked = dns.message.from_wire(sent)  # a question in the reply: the request parsed
        assert len(asked.question) == 1
        got, want = message.question[0], asked.question[0]
        assert (got.name.labels, got.rdtype, got.rdclass) == (
            want.name.labels, want.rdtype, want.rdclass), (sent.hex(), reply.hex())
    return rcode


def assert_answers(proc: ResolverProcess) -> None:
    """www.example.test A over UDP and TCP, on fresh sockets."""
    for tcp in (False, True):
        reply = proc.query("www.example.test", "A", tcp=tcp, timeout=WAIT)
        assert reply.rcode() == dns.rcode.NOERROR
        assert [r.to_text() for r in reply.answer[0]] == ["127.0.0.80"]


def assert_healthy(proc: ResolverProcess) -> None:
    assert proc.proc.poll() is None, proc.log()
    assert_answers(proc)
    log = proc.log()
    assert "Traceback" not in log, log
    assert " ERROR " not in log, log


# -- UDP ----------------------------------------------------------------------------------
def test_udp_fuzz(server: ResolverProcess) -> None:
    order = [kind for kind in KINDS for _ in range(UDP_PER_KIND)]
    stats = udp_fuzz(server, KINDS, order, random.Random(SEED))
    print_stats("UDP", stats)
    assert_healthy(server)


def test_udp_fuzz_with_routing_policies(tmp_path: Path) -> None:
    """The repository's example zones and policies: names answered by the router, asked
    with client subnets of every shape, plus broken packets. Routing may fail closed
    (SERVFAIL is what ``on_all_down: servfail`` says), but nothing may crash."""
    kinds = {"ecs": client_subnet, "bitflip": KINDS["bitflip"], "opt": KINDS["opt"]}
    order = ["ecs"] * (ROUTED_PACKETS * 2 // 3) + ["bitflip", "opt"] * (ROUTED_PACKETS // 6)
    with ResolverProcess(REPO / "zones", policies=REPO / "policies") as proc:
        stats = udp_fuzz(proc, kinds, order, random.Random(SEED + 4), servfail_ok=True)
        print_stats("UDP with routing policies", stats)
        assert proc.proc.poll() is None
        assert "Traceback" not in proc.log(), proc.log()


def udp_fuzz(
    server: ResolverProcess, kinds: dict[str, Callable[[random.Random], bytes]],
    order: list[str], rng: random.Random, servfail_ok: bool = False,
) -> dict[str, Counter[str]]:
    """Send one packet of each kind in ``order`` (shuffled), in batches each followed by a
    liveness probe; check every reply and that every readable request got one."""
    sock = socket.socket(socket.AF_INET6 if ":" in server.host else socket.AF_INET,
                         socket.SOCK_DGRAM)
    sock.connect((server.host, server.port))
    sent: dict[int, tuple[str, bytes]] = {}
    replied: set[int] = set()
    stats: dict[str, Counter[str]] = {kind: Counter() for kind in kinds}
    next_id = 1
    order = list(order)
    rng.shuffle(order)
    with sock:
        for start in range(0, len(order), UDP_BATCH):
            for kind in order[start : start + UDP_BATCH]:
                wire = with_id(kinds[kind](rng), next_id)
                sent[next_id] = (kind, wire)
                next_id += 1
                stats[kind]["sent"] += 1
                sock.send(wire)
            next_id = _probe_udp(sock, next_id, sent, replied, stats, servfail_ok)
    missing = [sent[i][1].hex() for i in sent if wants_reply(sent[i][1]) and i not in replied]
    assert not missing, f"{len(missing)} requests with a readable header got no reply"
    return stats


def _probe_udp(
    sock: socket.socket, next_id: int, sent: dict[int, tuple[str, bytes]], replied: set[int],
    stats: dict[str, Counter[str]], servfail_ok: bool,
) -> int:
    """Send a valid query and read replies until its answer: the server is alive, and every
    earlier packet has been handled (one socket, one server thread: replies come in order)."""
    for _attempt in range(3):
        probe_id = next_id
        next_id += 1
        sock.send(with_id(valid_query(random.Random(probe_id), edns=True), probe_id))
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            reply = sock.recv(65535)
            reply_id = int.from_bytes(reply[:2], "big")
            if reply_id == probe_id:
                return next_id
            assert reply_id in sent and reply_id not in replied, f"stray reply {reply.hex()}"
            kind, wire = sent[reply_id]
            rcode = check_reply(wire, reply, "udp", servfail_ok)
            replied.add(reply_id)
            stats[kind]["replies"] += 1
            stats[kind][dns.rcode.to_text(rcode)] += 1
    raise AssertionError("the server stopped answering UDP")


def print_stats(title: str, stats: dict[str, Counter[str]]) -> None:
    total = Counter[str]()
    for counter in stats.values():
        total.update(counter)
    print(f"\n{title}: {total['sent']} sent, {total['replies']} replies")
    for kind, counter in stats.items():
        rest = ", ".join(f"{k} {v}" for k, v in sorted(counter.items())
                         if k not in ("sent", "replies"))
        print(f"  {kind:12} sent {counter['sent']:5}  replies {counter['replies']:5}  {rest}")


# -- TCP helpers --------------------------------------------------------------------------
def connect(proc: ResolverProcess) -> socket.socket:
    sock = socket.create_connection((proc.host, proc.port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def frame(wire: bytes) -> bytes:
    return len(wire).to_bytes(2, "big") + wire


def read_exact(sock: socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None if the server closed the connection first."""
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(sock: socket.socket) -> bytes | None:
    prefix = read_exact(sock, 2)
    if prefix is None:
        return None
    body = read_exact(sock, int.from_bytes(prefix, "big"))
    assert body is not None, "the server closed in the middle of a reply"
    return body


def wait_closed(sock: socket.socket) -> bool:
    """True once the server has closed (EOF or reset); replies before that are skipped."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65535):
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
    return False


def split_frames(stream: bytes) -> list[bytes]:
    """The whole frames in ``stream``, as the server splits them."""
    frames = []
    while len(stream) >= 2:
        length = int.from_bytes(stream[:2], "big")
        if len(stream) < 2 + length:
            break
        frames.append(stream[2 : 2 + length])
        stream = stream[2 + length :]
    return frames


# -- TCP fuzz -----------------------------------------------------------------------------
def test_tcp_fuzz_framed(server: ResolverProcess) -> None:
    """Broken messages with correct framing, many per connection: an answer for each one with
    a readable header; the connection closed after one without."""
    rng = random.Random(SEED + 1)
    kinds = list(KINDS)
    stats: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    connections = 1
    sock = connect(server)
    try:
        for i in range(TCP_FRAMED):
            kind = kinds[i % len(kinds)]
            wire = with_id(KINDS[kind](rng), i + 1)
            stats[kind]["sent"] += 1
            sock.sendall(frame(wire))
            if wants_reply(wire):
                reply = read_frame(sock)
                assert reply is not None, f"connection closed after {kind} {wire.hex()}"
                rcode = check_reply(wire, reply, "tcp")
                stats[kind]["replies"] += 1
                stats[kind][dns.rcode.to_text(rcode)] += 1
            else:
                assert wait_closed(sock), f"not closed after {kind} {wire.hex()}"
                stats[kind]["closed"] += 1
                sock.close()
                sock = connect(server)
                connections += 1
    finally:
        sock.close()
    print_stats(f"TCP framed ({connections} connections)", stats)
    assert_healthy(server)


def test_tcp_garbage_length_prefixes(server: ResolverProcess) -> None:
    """Zero, short, oversized and lone length prefixes: each connection is closed, by the
    server (no readable header), at the client's EOF, or by the idle timeout."""
    rng = random.Random(SEED + 2)
    cases: list[tuple[socket.socket, int]] = []
    kinds = Counter[str]()
    for i in range(TCP_PREFIXES):
        sock = connect(server)
        query = valid_query(rng)
        choice = i % 6
        answered = 0
        if choice == 0:
            sock.sendall(b"\x00\x00")
        elif choice == 1:  # claims more than is sent, then waits
            sock.sendall((len(query) + rng.randrange(1, 500)).to_bytes(2, "big") + query)
        elif choice == 2:  # 64 KiB claimed, some junk, then EOF
            sock.sendall(b"\xff\xff" + rng.randbytes(rng.randrange(0, 2000)))
            sock.shutdown(socket.SHUT_WR)
        elif choice == 3:  # one byte of a prefix
            sock.sendall(bytes([rng.randrange(256)]))
        elif choice == 4:  # a good query, then a prefix with a short body
            sock.sendall(frame(query) + b"\x00\x05abc")
            answered = 1
        else:  # a prefix shorter than a header
            size = rng.randrange(1, 12)
            sock.sendall(size.to_bytes(2, "big") + rng.randbytes(size))
        kinds[("zero", "long", "64k+eof", "one-byte", "query+short", "tiny")[choice]] += 1
        cases.append((sock, answered))
    for sock, answered in cases:
        with sock:
            for _ in range(answered):
                reply = read_frame(sock)
                assert reply is not None and reply[2] & 0x80
            assert wait_closed(sock)
    print(f"\nTCP length prefixes: {TCP_PREFIXES} connections, all closed: {dict(kinds)}")
    assert_healthy(server)


def test_tcp_random_streams(server: ResolverProcess) -> None:
    """Random byte streams, then EOF: the server answers exactly the whole frames that have a
    readable header, in order, up to the first one it cannot read, and closes."""
    rng = random.Random(SEED + 3)
    replies_seen = 0
    for i in range(TCP_STREAMS):
        if i % 2:
            stream = rng.randbytes(rng.randrange(1, 400))
        else:  # frames of random bodies, so that some are whole
            stream = b"".join(frame(KINDS[rng.choice(list(KINDS))](rng))
                              for _ in range(rng.randint(1, 4)))
            stream = stream[: rng.randrange(len(stream) // 2, len(stream) + 1)]
        expected = []
        for body in split_frames(stream):
            if not wants_reply(body):
                break
            expected.append(body)
        with connect(server) as sock:
            sock.sendall(stream)
            sock.shutdown(socket.SHUT_WR)
            for body in expected:
                reply = read_frame(sock)
                assert reply is not None, f"closed early on stream {stream.hex()}"
                check_reply(body, reply, "tcp")
                replies_seen += 1
            assert wait_closed(sock)
    print(f"\nTCP random streams: {TCP_STREAMS} connections, {replies_seen} replies")
    assert_healthy(server)


# -- TCP behaviour ------------------------------------------------------------------------
def test_pipelined_queries_in_one_write(server: ResolverProcess) -> None:
    names = [f"host{i}.example.test" for i in range(1, 6)] + ["www.example.test"] * 5
    queries = [with_id(dns.message.make_query(n, "A").to_wire(), 100 + i)
               for i, n in enumerate(names)]
    with connect(server) as sock:
        sock.sendall(b"".join(frame(q) for q in queries))
        replies = {}
        for _ in queries:
            reply = read_frame(sock)
            assert reply is not None
            replies[int.from_bytes(reply[:2], "big")] = dns.message.from_wire(reply)
    assert sorted(replies) == [100 + i for i in range(len(names))]
    for i, name in enumerate(names):
        answer = replies[100 + i].answer
        assert answer and answer[0].name.to_text() == name + "."


def test_frame_split_across_writes(server: ResolverProcess) -> None:
    query = frame(dns.message.make_query("www.example.test", "A").to_wire())
    with connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in query:
            sock.sendall(bytes([byte]))
            time.sleep(0.005)
        reply = read_frame(sock)
    assert reply is not None and dns.message.from_wire(reply).answer


def test_idle_connection_is_closed(server: ResolverProcess) -> None:
    with connect(server) as sock:
        assert wait_closed(sock)
    with connect(server) as sock:  # idle after a query: closed too
        sock.sendall(frame(valid_query(random.Random(1))))
        assert read_frame(sock) is not None
        assert wait_closed(sock)


def test_half_framed_connection_is_closed(server: ResolverProcess) -> None:
    query = frame(dns.message.make_query("www.example.test", "A").to_wire())
    with connect(server) as sock:
        sock.sendall(query[: len(query) // 2])
        assert wait_closed(sock)


def test_trickling_client_is_closed(server: ResolverProcess) -> None:
    """Bytes that never complete a message do not keep a connection open."""
    with connect(server) as sock:
        sock.settimeout(0.2)
        sock.sendall(b"\x01\x00")  # a 256-byte message, sent one byte at a time
        closed = False
        for _ in range(256):
            try:
                sock.sendall(b"\x00")
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
        assert closed, "a trickling client kept its connection open"


def test_connection_cap_lets_new_clients_in(capped: ResolverProcess) -> None:
    """Five idle connections at a cap of five: a new client is still answered, and the
    connection quiet the longest is the one closed to make room."""
    idle = []
    for i in range(5):
        sock = connect(capped)
        sock.sendall(frame(with_id(dns.message.make_query("www.example.test", "A").to_wire(),
                                   i + 1)))
        assert read_frame(sock) is not None
        idle.append(sock)
    try:
        with connect(capped) as newcomer:
            newcomer.sendall(frame(dns.message.make_query("ftp.example.test", "A").to_wire()))
            reply = read_frame(newcomer)
            assert reply is not None and dns.message.from_wire(reply).answer
        assert wait_closed(idle[0]), "the quietest connection was not closed"
    finally:
        for sock in idle:
            sock.close()


def test_connection_cap_with_half_framed_clients(capped: ResolverProcess) -> None:
    stuck = []
    for _ in range(8):
        sock = connect(capped)
        sock.sendall(b"\x00\x40abc")  # 64 bytes announced, 3 sent
        stuck.append(sock)
    try:
        assert_answers(capped)
    finally:
        for sock in stuck:
            sock.close()
    assert "connection cap 5 reached" in capped.log()


def test_client_that_never_reads_is_cut_off(server: ResolverProcess) -> None:
    """Pipelined queries from a client that reads none of the answers: the server stops
    reading once its write buffer is full, and when the connection has been idle that long,
    aborts it (a reset) rather than buffering answers without bound or waiting forever to
    flush them."""
    query = frame(dns.message.make_query("big.example.test", "TXT").to_wire())  # 2 KB answers
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect((server.host, server.port))
    with sock:
        try:
            sock.sendall(query * 5_000)
            reset = False
        except (ConnectionResetError, BrokenPipeError):
            reset = True
        deadline = time.monotonic() + WAIT
        while not reset and time.monotonic() < deadline:  # without reading a byte
            reset = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET
            time.sleep(0.05)
    assert reset, "the server kept a connection whose client does not read"
    assert_healthy(server)
