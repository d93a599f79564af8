"""Zone files on disk -> checked :class:`ZoneData` -> :class:`Zone`.

dnspython's master-file reader does the parsing (``$ORIGIN``, ``$TTL``, ``$INCLUDE``,
``$GENERATE``, every rdata type), but instead of a ``dns.zone.Zone`` it feeds a collector
that remembers the file and line of every record. The collector also keeps what dnspython
would silently drop or merge (records outside the zone, CNAME beside other data), so that
``resolver check`` and reload can report each problem as ``FILE:LINE: message``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.zonefile

from resolver.authority.fastload import read_zone, reader_stream
from resolver.errors import ZoneError

ZONE_SUFFIX = ".zone"
_COVERING = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.SIG})  # add() also sets ``covers``


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(slots=True)
class ZoneData:
    """A parsed zone file: RRsets by owner and type, with the line each RRset starts on."""

    origin: dns.name.Name
    path: str
    rrsets: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = field(default_factory=dict)
    lines: dict[tuple[dns.name.Name, int], tuple[str, int]] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # the zone file and every file it includes
    problems: list[Problem] = field(default_factory=list)

    def where(self, name: dns.name.Name, rdtype: int) -> tuple[str, int]:
        return self.lines.get((name, rdtype), (self.path, 1))


class _ZoneTokenizer(dns.tokenizer.Tokenizer):
    """dnspython's tokenizer, plus two things:

    - ``$INCLUDE`` paths are resolved against the zone file's folder, and remembered (so an
      edit to an included file reloads the zone);
    - ``statement_line`` is the line the current record or directive starts on. dnspython's
      own ``where()`` is already on the next line once a line's last token has been read,
      which is when records are handed over and most errors raised.
    """

    def __init__(self, f: io.TextIOBase, filename: str, included: list[str]) -> None:
        super().__init__(f, filename)
        self._setup(os.path.dirname(os.path.abspath(filename)), included)

    def _setup(self, base: str, included: list[str]) -> None:
        self._base = base
        self._after_include = False
        self._included = included
        self._at_line_start = True
        self.statement_line = 1

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        line = self.line_number
        token = super().get(want_leading, want_comment)
        if token.is_eol_or_eof():
            self._at_line_start = True
        elif self._at_line_start:
            self._at_line_start = False
            self.statement_line = line
        if self._after_include and token.is_identifier():
            self._after_include = False
            path = os.path.join(self._base, token.value)
            self._included.append(path)
            return dns.tokenizer.Token(token.ttype, path)
        if token.is_identifier() and token.value.upper() == "$INCLUDE":
            self._after_include = True
        elif not token.is_whitespace():
            self._after_include = False
        return token

    def statement(self) -> tuple[str, int]:
        return self.filename, self.statement_line


class _Reader(dns.zonefile.Reader):
    """dnspython's reader, whose tokenizers are all :class:`_ZoneTokenizer` (the one it opens
    for an ``$INCLUDE`` is converted as it is installed)."""

    _tok: _ZoneTokenizer

    @property  # type: ignore[override]
    def tok(self) -> _ZoneTokenizer:
        return self._tok

    @tok.setter
    def tok(self, value: dns.tokenizer.Tokenizer) -> None:
        if not isinstance(value, _ZoneTokenizer):
            parent = self._tok
            value.__class__ = _ZoneTokenizer
            assert isinstance(value, _ZoneTokenizer)
            value._setup(parent._base, parent._included)
        self._tok = value


class _Collector:
    """Stands in for a dnspython transaction: receives each record with its position."""

    def __init__(self, data: ZoneData) -> None:
        self.manager = self
        self.data = data
        self.reader: _Reader | None = None

    # The parts of the transaction API that dns.zonefile.Reader calls.
    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        # The root as "zone origin" makes the reader hand us out-of-zone records too.
        return dns.name.root, False, dns.name.root

    def check_put_rdataset(self, check: object) -> None:
        return None

    def _set_origin(self, origin: dns.name.Name) -> None:
        return None

    def add_unicode(self, value: str) -> None:
        return None

    def add(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        assert self.reader is not None
        file, line = self.reader.tok.statement()
        self.put(name, ttl, rdata, file, line)

    def put(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata, file: str, line: int
            ) -> None:
        """A record read at ``file:line`` (by dnspython, or by ``fastload`` for plain lines)."""
        data = self.data
        if not name.is_subdomain(data.origin):
            data.problems.append(Problem(file, line, f"{name} is outside the zone {data.origin}"))
            return
        node = data.rrsets.setdefault(name, {})
        rrset = node.get(rdata.rdtype)
        if rrset is None:
            rrset = node[rdata.rdtype] = dns.rrset.RRset(name, rdata.rdclass, rdata.rdtype)
            rrset.ttl = ttl
            data.lines[(name, rdata.rdtype)] = (file, line)
            if rdata.rdtype not in _COVERING:
                rrset.items[rdata] = None  # what add() does in an empty set, hashing once
                return
        elif dns.rdatatype.is_singleton(rdata.rdtype) and rdata not in rrset:
            # dnspython would quietly replace the first; named-checkzone rejects the zone.
            kind = dns.rdatatype.to_text(rdata.rdtype)
            data.problems.append(Problem(file, line, f"{name} has more than one {kind} record"))
            return
        elif ttl != rrset.ttl:
            # BIND keeps the first TTL of an RRset and warns; we do the same, quietly.
            ttl = rrset.ttl
        rrset.add(rdata, ttl)


def origin_for(path: Path, text: str) -> dns.name.Name:
    """A leading ``$ORIGIN`` names the zone; otherwise the file name (``example.test.zone``)."""
    for raw in _leading_lines(text):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0].upper() == "$ORIGIN" and len(parts) > 1:
            return dns.name.from_text(parts[1])
        break
    stem = path.name[: -len(ZONE_SUFFIX)] if path.name.endswith(ZONE_SUFFIX) else path.name
    if stem in ("root", "."):
        return dns.name.root
    return dns.name.from_text(stem)


def _read_text(path: Path, chunk: int = 1 << 20) -> str:
    """``path.read_text()``, decoded a megabyte at a time (a big zone decoded whole is one
    long C call, during which no other thread answers)."""
    with path.open(encoding="utf-8") as f:
        return "".join(iter(lambda: f.read(chunk), ""))


def _leading_lines(text: str) -> Iterator[str]:
    """The lines of ``text``, one at a time: the first few are wanted, and splitting a big
    zone's text whole takes a tenth of a second (holding the GIL, like any one C call)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def parse_zone_file(
    path: Path, origin: dns.name.Name | None = None, text: str | None = None
) -> ZoneData:
    """Parse one zone file. Syntax errors raise :class:`ZoneError`; semantic problems are
    collected in ``ZoneData.problems`` by :func:`resolver.authority.check.check_zone`.
    ``text``: what the file is about to hold (the admin API checks before it writes)."""
    if text is None:
        try:
            text = _read_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ZoneError(str(path), f"cannot read zone file: {exc}", 1) from exc
    try:
        origin = origin or origin_for(path, text)
    except dns.exception.DNSException as exc:
        raise ZoneError(str(path), f"bad zone origin: {exc}", 1) from exc
    included: list[str] = []
    data = ZoneData(origin=origin, path=str(path))
    collector = _Collector(data)
    tokenizer = _ZoneTokenizer(reader_stream(text), str(path), included)
    reader = _Reader(
        tokenizer, dns.rdataclass.IN, collector, allow_include=True  # type: ignore[arg-type]
    )
    reader.current_origin = origin
    reader.last_name = origin
    collector.reader = reader
    try:
        read_zone(reader, text)  # dnspython's reader.read(), with plain lines read faster
    except dns.exception.SyntaxError as exc:
        message = _split_position(str(exc), str(path))[2]
        file, line = reader.tok.statement()
        source = text if file == str(path) else None
        raise ZoneError(file, _with_source(message, file, line, source), line) from None
    except OSError as exc:  # an $INCLUDE that cannot be opened
        file, line = reader.tok.statement()
        raise ZoneError(file, f"cannot read {exc.filename}: {exc.strerror}", line) from None
    except dns.exception.DNSException as exc:
        file, line = reader.tok.statement()
        raise ZoneError(file, f"{type(exc).__name__}: {exc}", line) from None
    data.files = (str(path), *included)
    return data


def _with_source(detail: str, file: str, line: int, text: str | None) -> str:
    """The parser's complaint, followed by the line it is about (dnspython's own messages,
    like "Text input is malformed.", do not say which part is wrong)."""
    if text is None:
        try:
            with open(file, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return detail
    lines = text.splitlines()
    source = lines[line - 1].split(";", 1)[0].strip() if 0 < line <= len(lines) else ""
    return f"{detail.rstrip('.')}: {source}" if source else detail


def _split_position(text: str, default_file: str) -> tuple[str, int, str]:
    """dnspython formats syntax errors as ``file:line: detail``; take them apart."""
    parts = text.split(":", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        return parts[0], int(parts[1]), parts[2].strip()
    return default_file, 1, text
