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

import io
import re
from typing import Any

import dns.ipv4
import dns.ipv6
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl
import dns.zonefile

# The reader's TTL rules are copied by calling its own method; without it (older dnspython),
# every line goes to dnspython.
ENABLED = hasattr(dns.zonefile.Reader, "_implicit_ttl")

# Anything but tab, space and printable ASCII other than " ( ) ; \ makes a line not plain.
_NOT_PLAIN = re.compile(r"[^\t\x20-\x21\x23-\x27\x2a-\x3a\x3c-\x5b\x5d-\x7e]")
# A dotted quad that dnspython's canonical form leaves as it is (no leading zeros).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
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
    """A ``dns.name.Name`` that remembers its hash.

    dnspython computes a name's hash in Python, byte by byte, on every call; building and
    checking a zone hashes each owner name several times (the zone's dicts, the set of
    existing names), which for a million names is most of the load time. Equal to, and
    hashing like, the plain Name; copies and pickles are plain Names.
    """

    __slots__ = ("_hash",)

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return dns.name.Name, (self.labels,)


def hashed(name: dns.name.Name) -> HashedName:
    new = object.__new__(HashedName)
    object.__setattr__(new, "labels", name.labels)
    object.__setattr__(new, "_hash", dns.name.Name.__hash__(name))
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


def read_zone(reader: Any, text: str) -> None:
    """Feed every record of ``text`` to ``reader.txn``, as ``reader.read()`` would.

    ``reader`` is a ``dns.zonefile.Reader`` over a tokenizer of the same ``text``, whose
    transaction has a ``put(name, ttl, rdata, file, line)`` for records read here.
    """
    if not ENABLED:
        reader.read()
        return
    _Lines(reader, text).run()


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
        lines = self.text.split("\n")
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
            name = self._names[text] = hashed(dns.name.from_text(text, origin))
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
            return _make_rdata(spec, [dns.ipv6.canonicalize(args[0])])
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


def _uint16(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise ValueError(text)
    return int(text)
