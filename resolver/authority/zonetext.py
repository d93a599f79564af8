"""Zone file text edited in place: only the lines of changed RRsets move. No I/O.

The admin API writes its changes into the hand-written file people also edit, so the file
must stay theirs: comments, blank lines, ordering, alignment, ``$GENERATE`` and ``$INCLUDE``
lines are kept. The text is cut into entries (one record each, parentheses spanning lines),
each entry's owner, TTL and type are read as dnspython's reader reads them, and then:

- a record that stays is not touched, except for a TTL token when the RRset's TTL changed
  and the serial token of the SOA;
- a record that goes is removed; a record that comes takes the place of one that went, or
  goes after the last line of its RRset, or after the last line of its owner, or at the end;
- a line that inherited its owner from a removed line gets the owner written out.

An RRset that comes (even partly) from ``$GENERATE`` or an included file cannot be edited
here: :class:`NotEditable`. The caller re-reads the result and compares it with the intended
data before writing anything (see :mod:`resolver.authority.writer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.ttl

SOA = dns.rdatatype.SOA
IN = dns.rdataclass.IN
Key = tuple[dns.name.Name, int]

# A quoted string, a comment, a parenthesis, or a run of other characters (with escapes).
_LEXEME = re.compile(r'"(?:[^"\\]|\\.)*"?|;.*|[()]|(?:[^\s;"()\\]|\\.?)+')
_SPECIAL = re.compile(r'["();\\]')
_OWNER_COLUMN = 16
_TYPE_COLUMN = 8


class NotEditable(Exception):
    """The change cannot be written into this file without rewriting what a person wrote."""


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    line: int  # 0-based
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One logical line of the file: a directive or a record, parentheses joined."""

    first: int
    last: int
    words: tuple[str, ...]  # its tokens' text, parentheses and comments left out
    inherits_owner: bool  # starts with blank space: the owner is the previous record's

    def tokens(self, lines: tuple[str, ...]) -> tuple[Token, ...]:
        """The tokens with their positions (the same as ``words``), for in-place edits."""
        out = []
        for number in range(self.first, self.last + 1):
            for match in _LEXEME.finditer(lines[number]):
                text = match.group()
                if text[0] == ";":
                    break
                if text not in ("(", ")"):
                    out.append(Token(text, number, match.start(), match.end()))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Record:
    """An entry whose owner is one of the names being changed."""

    index: int  # position in the entry list
    entry: Entry
    owner: dns.name.Name
    origin: dns.name.Name  # $ORIGIN in effect
    default_ttl: int | None  # $TTL in effect
    ttl_at: int | None  # index of the TTL word, if written
    type_at: int
    rdtype: int

    def rdata(self) -> dns.rdata.Rdata:
        text = " ".join(self.entry.words[self.type_at + 1:])
        return dns.rdata.from_text(IN, self.rdtype, text, origin=self.origin, relativize=False)


@dataclass(frozen=True, slots=True)
class Scan:
    entries: tuple[Entry, ...]
    records: tuple[Record, ...]  # of the names asked about only
    resets: frozenset[int]  # entries ($GENERATE, $INCLUDE) after which the owner is unknown
    start_origin: dns.name.Name
    end_origin: dns.name.Name
    end_default_ttl: int | None
    by_key: Mapping[Key, list[Record]]
    last_of_owner: Mapping[dns.name.Name, Record]
    lines: tuple[str, ...]


# -- reading ------------------------------------------------------------------------------
def split_entries(lines: list[str]) -> list[Entry]:
    """Entries; a plain line (no quote, parenthesis, comment or escape) is split at once."""
    entries: list[Entry] = []
    depth = 0
    start = -1
    words: list[str] = []
    for number, line in enumerate(lines):
        if depth == 0 and not _SPECIAL.search(line):
            plain = line.split()
            if plain:
                entries.append(Entry(number, number, tuple(plain), line[:1] in (" ", "\t")))
            continue
        for match in _LEXEME.finditer(line):
            text = match.group()
            if text[0] == ";":
                break
            if text == "(":
                depth += 1
            elif text == ")":
                depth = max(0, depth - 1)
            else:
                words.append(text)
            if start < 0:
                start = number
        if start >= 0 and depth == 0:
            if words:
                first = lines[start]
                entries.append(Entry(start, number, tuple(words), first[:1] in (" ", "\t")))
            start, words = -1, []
    return entries


class _Owners:
    """Which owner text, under which ``$ORIGIN``, is one of the names asked about, mostly by
    comparing lowercase text (parsing every owner of a big file would cost seconds)."""

    def __init__(self, names: Iterable[dns.name.Name]) -> None:
        self.names = frozenset(names)
        self._tables: dict[dns.name.Name, dict[str, dns.name.Name]] = {}

    def match(self, word: str, origin: dns.name.Name) -> dns.name.Name | None:
        if "\\" in word or not word.isascii():
            try:
                name = dns.name.from_text(word, origin)
            except dns.exception.DNSException:
                return None
            return name if name in self.names else None
        table = self._tables.get(origin)
        if table is None:
            table = self._tables[origin] = self._table(origin)
        return table.get(word.lower())

    def _table(self, origin: dns.name.Name) -> dict[str, dns.name.Name]:
        table = {}
        for name in self.names:
            table[name.to_text().lower()] = name
            if name == origin:
                table["@"] = name
            elif name.is_subdomain(origin):
                table[name.relativize(origin).to_text().lower()] = name
        return table


def scan(text: str, origin: dns.name.Name, names: Iterable[dns.name.Name]) -> Scan:
    """Every entry; for the records of ``names``, their owner, type and TTL as the reader
    sees them."""
    lines = split_lines(text)
    entries = split_entries(lines)
    owners = _Owners(names)
    start_origin = origin
    records: list[Record] = []
    by_key: dict[Key, list[Record]] = {}
    last_of_owner: dict[dns.name.Name, Record] = {}
    resets: set[int] = set()
    owner = origin if origin in owners.names else None  # None: not one of ``names``
    default_ttl: int | None = None
    for index, entry in enumerate(entries):
        words = entry.words
        first = words[0]
        if not entry.inherits_owner and first.startswith("$"):
            word = first.upper()
            if word == "$ORIGIN" and len(words) > 1:
                origin = dns.name.from_text(words[1], origin)
            elif word == "$TTL" and len(words) > 1:
                default_ttl = dns.ttl.from_text(words[1])
            elif word in ("$GENERATE", "$INCLUDE"):
                owner = None
                resets.add(index)
            continue
        if not entry.inherits_owner:
            owner = owners.match(first, origin)
        if owner is None:
            continue
        at = 0 if entry.inherits_owner else 1
        ttl_at, at = _ttl_word(words, at)
        if at < len(words) and _is_class(words[at]):
            at += 1
        if ttl_at is None:
            ttl_at, at = _ttl_word(words, at)
        rdtype = dns.rdatatype.from_text(words[at])
        record = Record(index, entry, owner, origin, default_ttl, ttl_at, at, rdtype)
        records.append(record)
        by_key.setdefault((owner, rdtype), []).append(record)
        last_of_owner[owner] = record
    return Scan(tuple(entries), tuple(records), frozenset(resets), start_origin, origin,
                default_ttl, by_key, last_of_owner, tuple(lines))


def split_lines(text: str) -> list[str]:
    """Lines with their ends, cut at ``\\n`` only (as the zone file reader cuts them)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _ttl_word(words: tuple[str, ...], at: int) -> tuple[int | None, int]:
    if at < len(words):
        try:
            dns.ttl.from_text(words[at])
        except dns.exception.DNSException:
            return None, at
        return at, at + 1
    return None, at


def _is_class(text: str) -> bool:
    try:
        dns.rdataclass.from_text(text)
    except Exception:
        return False
    return True


# -- writing ------------------------------------------------------------------------------
@dataclass(slots=True)
class _Plan:
    drop: set[int]
    replace: dict[int, list[str]]  # entry index -> lines in its place
    after: dict[int, list[tuple[dns.name.Name, str]]]  # entry (-1: end) -> (owner, line)
    edits: dict[int, list[tuple[int, int, str]]]  # line -> (start, end, new text)


def edit_text(
    text: str,
    origin: dns.name.Name,
    old: Mapping[Key, dns.rrset.RRset | None],
    new: Mapping[Key, dns.rrset.RRset | None],
) -> str:
    """``text`` with every RRset in ``new`` (None: deleted) written over its ``old`` self.

    Raises :class:`NotEditable` when an RRset is not entirely made of this file's own lines.
    """
    try:
        found = scan(text, origin, {name for name, _ in new})
    except (dns.exception.DNSException, IndexError) as exc:
        raise NotEditable(f"cannot follow the layout of the file: {exc}") from None
    plan = _Plan(set(), {}, {}, {})
    for key, after in new.items():
        _plan_rrset(found, key, old.get(key), after, plan)
    return _render(text, found, plan)


def _plan_rrset(
    found: Scan, key: Key, old: dns.rrset.RRset | None, new: dns.rrset.RRset | None,
    plan: _Plan,
) -> None:
    name, rdtype = key
    records = found.by_key.get(key, [])
    label = f"{name} {dns.rdatatype.to_text(rdtype)}"
    try:
        values = [r.rdata() for r in records]
    except Exception as exc:
        raise NotEditable(f"cannot read the lines of {label}: {exc}") from None
    if old is not None and set(values) != set(old):
        raise NotEditable(f"{label} comes (at least partly) from $GENERATE or an included "
                          "file; change it in the file by hand")
    if old is None and records:
        raise NotEditable(f"{label} is in the file but not in the zone")
    if new is None:
        plan.drop.update(r.index for r in records)
        return
    if old is None:
        _place_after_owner(found, name, list(new), new.ttl, plan)
        return
    if rdtype == SOA and len(records) == 1 and _only_serial_differs(old, new):
        record = records[0]
        token = record.entry.tokens(found.lines)[record.type_at + 3]
        _replace_token(found, token, str(new[0].serial), plan)
        if new.ttl != old.ttl:
            _set_ttl(found, record, new.ttl, plan)
        return
    kept: set[dns.rdata.Rdata] = set()
    removed: list[Record] = []
    for record, value in zip(records, values, strict=True):
        if value in new and value not in kept:
            kept.add(value)
            if new.ttl != old.ttl:
                _set_ttl(found, record, new.ttl, plan)
        else:
            removed.append(record)
    added = [value for value in new if value not in kept]
    for record in removed:
        if added:
            value = added.pop(0)
            plan.replace[record.index] = [
                render_record(name, new.ttl, value, record.origin, record.default_ttl)
            ]
        else:
            plan.drop.add(record.index)
    if added:
        last = records[-1]
        plan.after.setdefault(last.index, []).extend(
            (name, render_record(name, new.ttl, v, last.origin, last.default_ttl))
            for v in added
        )


def _place_after_owner(
    found: Scan, name: dns.name.Name, values: list[dns.rdata.Rdata], ttl: int, plan: _Plan
) -> None:
    last = found.last_of_owner.get(name)
    if last is not None:
        at, origin, default_ttl = last.index, last.origin, last.default_ttl
    else:
        at, origin, default_ttl = -1, found.end_origin, found.end_default_ttl
    plan.after.setdefault(at, []).extend(
        (name, render_record(name, ttl, value, origin, default_ttl)) for value in values
    )


def _only_serial_differs(old: dns.rrset.RRset, new: dns.rrset.RRset) -> bool:
    return len(old) == len(new) == 1 and old[0].replace(serial=new[0].serial) == new[0]


def _set_ttl(found: Scan, record: Record, ttl: int, plan: _Plan) -> None:
    tokens = record.entry.tokens(found.lines)
    if record.ttl_at is not None:
        _replace_token(found, tokens[record.ttl_at], str(ttl), plan)
    else:
        # Into the blanks before the next token when they are wide enough, so that the
        # columns after it do not move.
        token = tokens[0 if record.entry.inherits_owner else 1]
        line = found.lines[token.line]
        text = f"{ttl} "
        start = token.start - len(text)
        if start > 0 and line[start - 1:token.start].strip(" ") == "" and (
            record.entry.inherits_owner or start > tokens[0].end
        ):
            plan.edits.setdefault(token.line, []).append((start, token.start, text))
        else:
            plan.edits.setdefault(token.line, []).append((token.start, token.start, text))


def _replace_token(found: Scan, token: Token, text: str, plan: _Plan) -> None:
    """Put ``text`` in place of ``token`` and keep the columns after it where the blanks
    after it allow: a shorter text is padded, a longer one eats blanks (one always stays)."""
    line = found.lines[token.line]
    end = token.end
    blanks = len(line[end:]) - len(line[end:].lstrip(" "))
    width = token.end - token.start
    if len(text) < width and blanks:
        text = text.ljust(width)
    elif len(text) > width and blanks > 1:
        end += min(blanks - 1, len(text) - width)
    plan.edits.setdefault(token.line, []).append((token.start, end, text))


def _render(text: str, found: Scan, plan: _Plan) -> str:
    """The planned text. A line that inherited its owner from a removed line (and from no
    line written in its place) gets that owner written out."""
    lines = list(found.lines)
    for number, edits in plan.edits.items():
        line = lines[number]
        for start, end, new in sorted(edits, reverse=True):
            line = line[:start] + new + line[end:]
        lines[number] = line
    by_first = {entry.first: index for index, entry in enumerate(found.entries)}
    owners = {record.index: record.owner for record in found.records}
    out: list[str] = []
    orphaned: dns.name.Name | None = None  # the owner a next inheriting line must write
    origin = found.start_origin
    number = 0
    while number < len(lines):
        index = by_first.get(number)
        if index is None:
            out.append(lines[number])
            number += 1
            continue
        entry = found.entries[index]
        body = lines[entry.first:entry.last + 1]
        if index in plan.replace:
            out.extend(_lines(plan.replace[index]))
            orphaned = None
        elif index in plan.drop:
            if not entry.inherits_owner:
                orphaned = owners[index]
        elif not entry.inherits_owner and entry.words[0].startswith("$"):
            out.extend(body)
            if entry.words[0].upper() == "$ORIGIN":
                origin = dns.name.from_text(entry.words[1], origin)
            if index in found.resets:
                orphaned = None
        else:
            if entry.inherits_owner and orphaned is not None:
                body[0] = _with_owner(body[0], orphaned, origin)
            out.extend(body)
            orphaned = None
        if index in plan.after:
            out.extend(_lines(text for _, text in plan.after[index]))
            orphaned = None
        number = entry.last + 1
    if -1 in plan.after:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.extend(_lines(text for _, text in plan.after[-1]))
    return "".join(out)


def _lines(texts: Iterable[str]) -> list[str]:
    return [t + "\n" for t in texts]


def _with_owner(line: str, owner: dns.name.Name, origin: dns.name.Name) -> str:
    """A line that inherited its owner, with the owner written into its leading blanks."""
    text = owner_text(owner, origin)
    blank = line[: len(line) - len(line.lstrip(" \t"))]
    if blank.strip(" ") == "" and len(text) < len(blank):
        return text + line[len(text):]
    return text + ("\t" if "\t" in blank else " ") + line[len(blank):]


def owner_text(name: dns.name.Name, origin: dns.name.Name) -> str:
    if name == origin:
        return "@"
    if name.is_subdomain(origin):
        return name.relativize(origin).to_text()
    return name.to_text()


def render_record(
    name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata, origin: dns.name.Name,
    default_ttl: int | None,
) -> str:
    """One record as a zone-file line, relative to ``origin``; the TTL is left out when it is
    the ``$TTL`` in effect."""
    owner = owner_text(name, origin) + " "
    ttl_text = "" if ttl == default_ttl else f"{ttl} "
    head = owner.ljust(_OWNER_COLUMN - len(ttl_text)) + ttl_text
    kind = dns.rdatatype.to_text(rdata.rdtype)
    return head + kind.ljust(_TYPE_COLUMN - 1) + " " + rdata.to_text(origin=origin,
                                                                   relativize=True)


def render_zone(
    origin: dns.name.Name, default_ttl: int, rrsets: Iterable[dns.rrset.RRset], header: str
) -> str:
    """A new zone file: a comment, ``$ORIGIN``, ``$TTL``, then each RRset."""
    out = [f"; {line}\n" if line else ";\n" for line in header.splitlines()]
    out.append(f"$ORIGIN {origin.to_text()}\n$TTL {default_ttl}\n")
    for rrset in rrsets:
        for rdata in rrset:
            out.append(render_record(rrset.name, rrset.ttl, rdata, origin, default_ttl) + "\n")
    return "".join(out)
