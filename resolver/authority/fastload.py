"""A fast path for the plain lines of a zone file, beside dnspython's reader.

Most lines of a big zone hold one record on one line, ``owner [ttl] [class] type rdata`` for
A, AAAA, NS, CNAME, PTR, DNAME, MX or SRV, without quotes, escapes or parentheses. Those lines
are read here, with dnspython's own functions (``dns.name.from_text``, ``dns.ttl.from_text``,
``dns.ipv4/ipv6.canonicalize``), into the objects its rdata constructors build (checked at
import; else the constructors are called), one :class:`HashedName` per distinct name. Any
other line (``$INCLUDE``, ``$GENERATE``, other types, multi-line records, anything odd) is
handed, in runs of consecutive lines, to the same dnspython reader, whose state (origin, last
owner, TTLs) the fast path reads and writes as dnspython does. A line is only read here if
dnspython would read it the same way; when in doubt, or on any error, it goes to dnspython,
which then reports the error with its usual file and line. ``tests/unit/authority/
test_fastload.py`` reads zone files both ways and compares every record, TTL, comment, line
and problem.
"""

from __future__ import annotations

import contextlib
import gc
import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import dns.ipv4
import dns.ipv6
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl
import dns.zonefile

from resolver.reaper import release_later

# The reader's TTL rules are copied by calling its own method; without it (older dnspython),
# every line goes to dnspython.
ENABLED = hasattr(dns.zonefile.Reader, "_implicit_ttl")

# Anything but tab, space and printable ASCII other than " ( ) ; \ makes a line not plain.
_NOT_PLAIN = re.compile(r"[^\t\x20-\x21\x23-\x27\x2a-\x3a\x3c-\x5b\x5d-\x7e]")
# A dotted quad that dnspython's canonical form leaves as it is (no leading zeros).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
# A relative name of plain ASCII labels, which dns.name.from_text encodes byte for byte.
_RELATIVE = re.compile(r"[A-Za-z0-9_*-]{1,63}(?:\.[A-Za-z0-9_*-]{1,63})*")
_IN = dns.rdataclass.RdataClass.make(dns.rdataclass.IN)
A, AAAA = dns.rdatatype.A, dns.rdatatype.AAAA
# type mnemonic -> (type, rdata class, the names of its fields, in constructor order)
_TYPES: dict[str, tuple[dns.rdatatype.RdataType, Any, tuple[str, ...]]] = {
    text: (rdtype, dns.rdata.get_rdata_class(_IN, rdtype), fields)
    for text, rdtype, fields in (
        ("A", A, ("address",)), ("AAAA", AAAA, ("address",)),
        ("NS", dns.rdatatype.NS, ("target",)), ("CNAME", dns.rdatatype.CNAME, ("target",)),
        ("PTR", dns.rdatatype.PTR, ("target",)), ("DNAME", dns.rdatatype.DNAME, ("target",)),
        ("MX", dns.rdatatype.MX, ("preference", "exchange")),
        ("SRV", dns.rdatatype.SRV, ("priority", "weight", "port", "target")),
    )
}


class HashedName(dns.name.Name):
    """A ``dns.name.Name`` that remembers its hash and its lowercased wire form.

    dnspython computes a name's hash in Python, byte by byte, on every call, and the hash is
    weak (580,000 generated host names share 377,000 values), so dict and set operations on
    names also compare names, label by label, in Python. Building a zone does both several
    times per name: for a million names, most of the load time. This name hashes like the
    plain Name and compares equal to the same names; two of them compare as bytes. Copies
    and pickles are plain Names.
    """

    __slots__ = ("_hash", "_key")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HashedName):
            return self._key == other._key
        return dns.name.Name.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return dns.name.Name, (self.labels,)


def _relative(labels: list[bytes], origin: dns.name.Name) -> HashedName | None:
    """``labels`` (1 to 63 bytes each) under ``origin``, checked as ``Name()`` checks them
    (the wire form at most 255 bytes); None if it is too long."""
    key = b"".join(bytes((len(x),)) + x.lower() for x in labels) + _key_of(origin)
    if len(key) > 255:
        return None
    whole = tuple(labels) + origin.labels
    new = object.__new__(HashedName)
    object.__setattr__(new, "labels", whole)
    object.__setattr__(new, "_hash", dns.name.Name.__hash__(new))
    object.__setattr__(new, "_key", key)
    return new


def _key_of(name: dns.name.Name) -> bytes:
    if isinstance(name, HashedName):
        return name._key
    return b"".join(bytes((len(x),)) + x.lower() for x in name.labels)


def hashed(name: dns.name.Name) -> HashedName:
    new = object.__new__(HashedName)
    object.__setattr__(new, "labels", name.labels)
    object.__setattr__(new, "_hash", dns.name.Name.__hash__(name))
    object.__setattr__(new, "_key", _key_of(name))
    return new


def _by_constructor(spec: tuple[Any, Any, tuple[str, ...]], values: list[Any]) -> Any:
    """The rdata as dnspython's reader builds it: the class's own constructor."""
    rdtype, cls, _ = spec
    return cls(_IN, rdtype, *values)


def _by_slots(spec: tuple[Any, Any, tuple[str, ...]], values: list[Any]) -> Any:
    """The same object without the constructor's generic checks (the values are already
    what the constructor would store): about three times faster."""
    rdtype, cls, fields = spec
    rdata = object.__new__(cls)
    setter = object.__setattr__
    setter(rdata, "rdclass", _IN)
    setter(rdata, "rdtype", rdtype)
    setter(rdata, "rdcomment", None)
    for field_name, value in zip(fields, values, strict=True):
        setter(rdata, field_name, value)
    return rdata


def _same_objects() -> bool:
    """Whether ``_by_slots`` builds what the constructors build, in this dnspython."""
    root = dns.name.root
    samples = {
        "A": ["127.0.0.1"], "AAAA": ["2001:db8::1"], "NS": [root], "CNAME": [root],
        "PTR": [root], "DNAME": [root], "MX": [10, root], "SRV": [1, 2, 3, root],
    }
    for text, values in samples.items():
        spec = _TYPES[text]
        made, built = _by_constructor(spec, values), _by_slots(spec, values)
        slots = set(made._get_all_slots())
        if type(made) is not type(built) or slots != {"rdclass", "rdtype", "rdcomment",
                                                       *spec[2]}:
            return False
        if any(getattr(made, s) != getattr(built, s) for s in slots) or made != built:
            return False
    return True


_make_rdata = _by_slots if _same_objects() else _by_constructor


def reader_stream(text: str) -> io.StringIO:
    """What the tokenizer of the reader given to :func:`read_zone` reads. With the fast path
    on, dnspython only reads the lines handed to it, each run with its own tokenizer: the
    whole text is not copied into a buffer then (a long C call, and memory)."""
    return io.StringIO(text if not ENABLED else "")


def read_zone(reader: Any, text: str) -> None:
    """Feed every record of ``text`` to ``reader.txn``, as ``reader.read()`` would.

    ``reader`` is a ``dns.zonefile.Reader`` over a tokenizer of the same ``text``, whose
    transaction has a ``put(name, ttl, rdata, file, line)`` for records read here.
    """
    with gc_paused():
        try:
            if ENABLED:
                _Lines(reader, text).run()
            else:
                reader.read()
        finally:
            # The transaction (our collector) points at the reader and at itself (as its
            # own ``manager``): cycles that hold the zone data, which only the cyclic
            # collector could free, and whose objects gc_paused is about to freeze. Break
            # them, so that reference counting frees a replaced zone.
            txn = reader.txn
            if getattr(txn, "reader", None) is reader:
                txn.reader = None
            if getattr(txn, "manager", None) is txn:
                txn.manager = None


_pause_lock = threading.Lock()
_pauses = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a zone is read (reentrant, thread-safe).

    Reading a million records allocates millions of objects that all stay alive; each full
    collection on the way walks all of them, which costs about a third of the load time.
    On the way out they are frozen (``gc.freeze``), so that no later collection walks them
    either (a pause of a second or more on the event loop). Zone data holds no reference
    cycles: reference counting frees it when it is replaced, frozen or not.
    """
    global _pauses, _gc_was_enabled
    with _pause_lock:
        if _pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    failed = False
    try:
        yield
    except BaseException:
        failed = True  # a traceback is a reference cycle: leave it to the collector
        raise
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _gc_was_enabled:
                if not failed:
                    gc.freeze()  # what was read stays: no collection needs to walk it
                gc.enable()


def _split_lines(text: str, chunk: int = 1 << 20) -> list[str]:
    """``text.split("\n")``, a megabyte at a time: splitting a big zone whole is one C call
    of a tenth of a second, which no other thread can interrupt."""
    lines: list[str] = []
    start = 0
    while True:
        end = text.find("\n", start + chunk)
        if end < 0:
            lines.extend(text[start:].split("\n"))
            return lines
        lines.extend(text[start:end].split("\n"))
        start = end + 1


def _plain(line: str) -> bool:
    return _NOT_PLAIN.search(line.partition(";")[0]) is None


def _paren_depth_change(line: str) -> int:
    """Parentheses opened minus closed, outside quotes, escapes and comments."""
    depth, quoted, index, size = 0, False, 0, len(line)
    while index < size:
        c = line[index]
        if c == "\\":
            index += 1
        elif c == '"':
            quoted = not quoted
        elif not quoted:
            if c == ";":
                break
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        index += 1
    return depth


class _Lines:
    def __init__(self, reader: Any, text: str) -> None:
        self.reader = reader
        self.text = text
        self.filename: str = reader.tok.filename
        self.included = reader.tok._included
        self.put = reader.txn.put
        self._caches: dict[dns.name.Name, dict[str, dns.name.Name]] = {}
        self._origin: dns.name.Name | None = None
        self._names: dict[str, dns.name.Name] = {}

    def run(self) -> None:
        lines = _split_lines(self.text)
        count = len(lines)
        index = 0
        while index < count:
            if _plain(lines[index]):
                if not self._record(lines[index], index + 1):
                    self._dnspython(lines, index, index + 1)
                index += 1
                continue
            start, depth = index, 0
            while index < count and (index == start or depth > 0 or not _plain(lines[index])):
                depth += _paren_depth_change(lines[index])
                index += 1
            self._dnspython(lines, start, index)
        # A million lines and the names' texts are freed piece by piece, not in one go
        # (by the reaper, once nothing else holds them: when this returns).
        garbage = [lines, self._caches]
        del lines
        self._caches, self._names = {}, {}
        release_later(garbage)

    def _dnspython(self, lines: list[str], start: int, end: int) -> None:
        """Lines ``start``..``end`` (0-based) through dnspython, numbered as in the file."""
        chunk = "\n".join(lines[start:end])
        if end < len(lines):
            chunk += "\n"
        tokenizer = type(self.reader.tok)(io.StringIO(chunk), self.filename, self.included)
        tokenizer.line_number = start + 1
        tokenizer.statement_line = start + 1
        self.reader.tok = tokenizer
        self.reader.read()

    def _name(self, text: str) -> dns.name.Name:
        origin = self.reader.current_origin
        if origin is not self._origin:
            self._origin = origin
            self._names = self._caches.setdefault(origin, {})
        name = self._names.get(text)
        if name is None:
            name = None
            if _RELATIVE.fullmatch(text) is not None:  # what from_text does with such text
                name = _relative(text.encode().split(b"."), origin)
            if name is None:  # anything else, and any error: dnspython's own
                name = hashed(dns.name.from_text(text, origin))
            self._names[text] = name
        return name

    def _record(self, line: str, number: int) -> bool:
        """Read one plain line; False (nothing changed) when dnspython must read it."""
        code, semicolon, comment = line.partition(";")
        tokens = code.split()
        if not tokens:
            return True  # blank or comment only
        reader = self.reader
        try:
            if code[0] in " \t":
                owner, pos = reader.last_name, 0
            elif tokens[0][0] == "$":
                return self._directive(tokens)
            else:
                owner, pos = self._name(tokens[0]), 1
            ttl = None
            if tokens[pos][0].isdigit():
                ttl = dns.ttl.from_text(tokens[pos])
                pos += 1
            word = tokens[pos].upper()
            if word == "IN":
                pos += 1
                if ttl is None and tokens[pos][0].isdigit():
                    ttl = dns.ttl.from_text(tokens[pos])
                    pos += 1
                word = tokens[pos].upper()
            spec = _TYPES.get(word)
            if spec is None or len(tokens) - pos - 1 != len(spec[2]):
                return False
            explicit = ttl is not None
            if ttl is None:
                ttl = reader._implicit_ttl()
                if ttl is None:
                    return False
            rdata = self._rdata(spec, tokens[pos + 1 :])
        except Exception:
            return False
        if explicit:
            reader.last_ttl = ttl
            reader.last_ttl_known = True
        reader.last_name = owner
        if semicolon:
            object.__setattr__(rdata, "rdcomment", comment)
        self.put(owner, ttl, rdata, self.filename, number)
        return True

    def _rdata(self, spec: tuple[Any, Any, tuple[str, ...]], args: list[str]) -> Any:
        """The rdata of a plain line, or an exception when dnspython must say what is wrong."""
        rdtype = spec[0]
        if rdtype == A:
            address = args[0]
            if _CANONICAL_IPV4.fullmatch(address) is None:
                address = dns.ipv4.canonicalize(address)
            return _make_rdata(spec, [address])
        if rdtype == AAAA:
            address = args[0]
            if not canonical_ipv6(address):
                address = dns.ipv6.canonicalize(address)
            return _make_rdata(spec, [address])
        return _make_rdata(spec, [*(_uint16(a) for a in args[:-1]), self._name(args[-1])])

    def _directive(self, tokens: list[str]) -> bool:
        reader = self.reader
        word = tokens[0].upper()
        if len(tokens) != 2 or word not in reader.allowed_directives:
            return False
        if word == "$TTL":
            reader.default_ttl = dns.ttl.from_text(tokens[1])
            reader.default_ttl_known = True
            reader.default_ttl_from_soa = False
            return True
        if word == "$ORIGIN":
            origin = self._name(tokens[1])
            if not origin.is_absolute():
                return False
            reader.current_origin = origin
            reader.txn._set_origin(origin)
            return True
        return False


def canonical_ipv6(text: str) -> bool:
    """Whether ``dns.ipv6.canonicalize(text)`` is ``text`` itself, decided without it:
    lowercase groups without leading zeros, and ``::`` exactly where dnspython puts it (the
    first longest run of two or more zero groups; never the embedded-IPv4 forms)."""
    if _IPV6_CHARS.fullmatch(text) is None:
        return False
    left, double, right = text.partition("::")
    if double:
        head = left.split(":") if left else []
        tail = right.split(":") if right else []
        zeros = 8 - len(head) - len(tail)
        if zeros < 2 or "::" in right:
            return False
        groups = head + ["0"] * zeros + tail
    else:
        head, zeros, groups = [], 0, text.split(":")
    if len(groups) != 8 or any(_IPV6_GROUP.fullmatch(g) is None for g in groups):
        return False
    best_start, best_len, run_start = 0, 0, -1
    for index, group in enumerate([*groups, "end"]):
        if group == "0":
            if run_start < 0:
                run_start = index
        elif run_start >= 0:
            if index - run_start > best_len:
                best_start, best_len = run_start, index - run_start
            run_start = -1
    if best_len < 2:
        return zeros == 0
    if best_start == 0 and (best_len == 6 or (best_len == 5 and groups[5] == "ffff")):
        return False  # dnspython writes these with a dotted quad
    return best_start == len(head) and best_len == zeros


_IPV6_CHARS = re.compile(r"[0-9a-f:]{2,39}")
_IPV6_GROUP = re.compile(r"0|[1-9a-f][0-9a-f]{0,3}")


def _uint16(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise ValueError(text)
    return int(text)
