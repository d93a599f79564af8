"""A fast path for the plain lines of a zone file, beside dnspython's reader.

Most lines of a big zone hold one record on one line, ``owner [ttl] [class] type rdata`` for
A, AAAA, NS, CNAME, PTR, DNAME, MX or SRV, without quotes, escapes or parentheses. Those lines
are read here, with dnspython's own functions (``dns.name.from_text``, ``dns.ttl.from_text``
and the rdata classes' constructors), one ``Name`` object per distinct name. Every other
line (``$INCLUDE``, ``$GENERATE``, other types, multi-line records, anything unusual) is
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
_IN = dns.rdataclass.IN
# type mnemonic -> (type, rdata class, how many rdata tokens)
_TYPES: dict[str, tuple[int, Any, int]] = {
    text: (rdtype, dns.rdata.get_rdata_class(_IN, rdtype), count)
    for text, rdtype, count in (
        ("A", dns.rdatatype.A, 1), ("AAAA", dns.rdatatype.AAAA, 1),
        ("NS", dns.rdatatype.NS, 1), ("CNAME", dns.rdatatype.CNAME, 1),
        ("PTR", dns.rdatatype.PTR, 1), ("DNAME", dns.rdatatype.DNAME, 1),
        ("MX", dns.rdatatype.MX, 2), ("SRV", dns.rdatatype.SRV, 4),
    )
}
_ADDRESS_TYPES = frozenset({dns.rdatatype.A, dns.rdatatype.AAAA})


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
            name = self._names[text] = dns.name.from_text(text, origin)
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
            if spec is None or len(tokens) - pos - 1 != spec[2]:
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

    def _rdata(self, spec: tuple[int, Any, int], args: list[str]) -> dns.rdata.Rdata:
        rdtype, cls, _ = spec
        if rdtype in _ADDRESS_TYPES:
            return cls(_IN, rdtype, args[0])
        if len(args) == 1:
            return cls(_IN, rdtype, self._name(args[0]))
        numbers = [_uint16(a) for a in args[:-1]]
        return cls(_IN, rdtype, *numbers, self._name(args[-1]))

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
