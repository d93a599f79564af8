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

from resolver.errors import ZoneError

ZONE_SUFFIX = ".zone"


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


class _IncludeTokenizer(dns.tokenizer.Tokenizer):
    """Resolves ``$INCLUDE`` paths against the including file's folder, as BIND does."""

    def __init__(self, f: io.TextIOBase, filename: str, included: list[str]) -> None:
        super().__init__(f, filename)
        self._base = os.path.dirname(os.path.abspath(filename))
        self._after_include = False
        self._included = included

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        token = super().get(want_leading, want_comment)
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


class _Collector:
    """Stands in for a dnspython transaction: receives each record with its position."""

    def __init__(self, data: ZoneData) -> None:
        self.manager = self
        self.data = data
        self.reader: dns.zonefile.Reader | None = None

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
        file, line = self.reader.tok.where()
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
        elif ttl != rrset.ttl:
            # BIND keeps the first TTL of an RRset and warns; we do the same, quietly.
            ttl = rrset.ttl
        rrset.add(rdata, ttl)


def origin_for(path: Path, text: str) -> dns.name.Name:
    """A leading ``$ORIGIN`` names the zone; otherwise the file name does (``example.test.zone``)."""
    for raw in text.splitlines():
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


def parse_zone_file(path: Path, origin: dns.name.Name | None = None) -> ZoneData:
    """Parse one zone file. Syntax errors raise :class:`ZoneError`; semantic problems are
    collected in ``ZoneData.problems`` by :func:`resolver.authority.check.check_zone`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ZoneError(str(path), f"cannot read zone file: {exc}", 1) from exc
    try:
        origin = origin or origin_for(path, text)
    except dns.exception.DNSException as exc:
        raise ZoneError(str(path), f"bad zone origin: {exc}", 1) from exc
    included: list[str] = []
    data = ZoneData(origin=origin, path=str(path))
    collector = _Collector(data)
    tokenizer = _IncludeTokenizer(io.StringIO(text), str(path), included)
    reader = dns.zonefile.Reader(
        tokenizer, dns.rdataclass.IN, collector, allow_include=True  # type: ignore[arg-type]
    )
    reader.current_origin = origin
    reader.last_name = origin
    collector.reader = reader
    try:
        reader.read()
    except dns.exception.SyntaxError as exc:
        file, line, message = _split_position(str(exc), str(path))
        raise ZoneError(file, message, line) from None
    except (OSError, dns.exception.DNSException) as exc:
        file, line = reader.tok.where()
        raise ZoneError(file, f"{type(exc).__name__}: {exc}", line) from None
    data.files = (str(path), *included)
    return data


def _split_position(text: str, default_file: str) -> tuple[str, int, str]:
    """dnspython formats syntax errors as ``file:line: detail``; take them apart."""
    parts = text.split(":", 2)
    if len(parts) == 3 and parts[1].strip().isdigit():
        return parts[0], int(parts[1]), parts[2].strip()
    return default_file, 1, text
