"""Bytes <-> :class:`Query` / :class:`Answer`. The only module that knows the wire format
on the slow path (the fast path in ``fastpath.py`` replays bytes this module built).

Decoding never raises anything but :class:`Undecodable`: a packet whose header cannot be read
(or that is itself a response) is dropped; anything else malformed gets FORMERR.
"""

from __future__ import annotations

import ipaddress
import struct

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.renderer
import dns.rrset

from resolver.model import Answer, Client, ClientSubnet, Edns, Query

OUR_UDP_PAYLOAD = 1232  # the DNS Flag Day 2020 size; never fragment
MIN_UDP_PAYLOAD = 512
TCP_MAX = 65535
HEADER = struct.Struct("!HHHHHH")
QR, AA, TC, RD, RA, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0010
ECS_CODE = dns.edns.OptionType.ECS
EDE_CODE = dns.edns.OptionType.EDE
BADVERS = dns.rcode.BADVERS


class Undecodable(Exception):
    """A packet that gets a fixed reply (``reply`` bytes) or none (``reply`` is None)."""

    def __init__(self, reply: bytes | None, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply
        self.reason = reason


def error_reply(data: bytes, rcode: int) -> bytes:
    """A header-only reply echoing the ID, opcode and RD of ``data`` (which has >= 12 bytes)."""
    query_id, flags = struct.unpack_from("!HH", data)
    flags = QR | (flags & 0x7800) | (flags & RD) | (rcode & 0xF)
    return HEADER.pack(query_id, flags, 0, 0, 0, 0)


def decode(data: bytes, client: Client, recursion_allowed: bool) -> Query:
    """Turn a request into a :class:`Query`, or raise :class:`Undecodable`."""
    if len(data) < 12:
        raise Undecodable(None, "shorter than a DNS header")
    flags = data[2] << 8 | data[3]
    if flags & QR:
        raise Undecodable(None, "a response, not a query")
    opcode = (flags >> 11) & 0xF
    try:
        message = dns.message.from_wire(data, ignore_trailing=False, one_rr_per_rrset=True)
    except Exception as exc:  # any failure to parse untrusted bytes is the sender's error
        if opcode != dns.opcode.QUERY:
            raise Undecodable(error_reply(data, dns.rcode.NOTIMP), "unknown opcode") from None
        raise Undecodable(error_reply(data, dns.rcode.FORMERR), f"malformed: {exc}") from None
    if opcode != dns.opcode.QUERY:
        raise Undecodable(error_reply(data, dns.rcode.NOTIMP), "unknown opcode")
    if len(message.question) != 1 or message.answer or message.authority:
        raise Undecodable(error_reply(data, dns.rcode.FORMERR), "not exactly one question")
    question = message.question[0]
    edns = None
    ecs = None
    if message.edns >= 0:
        ecs_options = [o for o in message.options if o.otype == ECS_CODE]
        if len(ecs_options) > 1:
            raise Undecodable(error_reply(data, dns.rcode.FORMERR), "two ECS options")
        if ecs_options:
            ecs = _client_subnet(ecs_options[0])
            if ecs is None:
                raise Undecodable(error_reply(data, dns.rcode.FORMERR), "bad ECS option")
        edns = Edns(
            version=message.edns,
            payload=message.payload,
            do=bool(message.ednsflags & dns.flags.DO),
            options=tuple(message.options),
        )
    if ecs is not None:
        client = Client(client.address, client.port, client.transport, ecs)
    return Query(
        id=message.id,
        qname=question.name,
        qtype=question.rdtype,
        qclass=question.rdclass,
        opcode=opcode,
        rd=bool(flags & RD),
        cd=bool(flags & CD),
        edns=edns,
        client=client,
        recursion_allowed=recursion_allowed,
    )


def _client_subnet(option: dns.edns.Option) -> ClientSubnet | None:
    """Validate an ECS option (RFC 7871 §7.1.2: scope must be 0, address bits masked)."""
    if not isinstance(option, dns.edns.ECSOption):
        return None
    family = 1 if ":" not in option.address else 2
    if option.scopelen != 0:
        return None
    try:
        network = ipaddress.ip_network(f"{option.address}/{option.srclen}", strict=True)
    except ValueError:
        return None
    return ClientSubnet(family, str(network.network_address), option.srclen)


def max_size(query: Query) -> int:
    if query.client.transport == "tcp":
        return TCP_MAX
    if query.edns is None:
        return MIN_UDP_PAYLOAD
    return udp_limit(query.edns.payload)


def udp_limit(payload: int) -> int:
    """The UDP size we answer within for an EDNS ``payload``: at least 512, at most ours."""
    return max(MIN_UDP_PAYLOAD, min(payload, OUR_UDP_PAYLOAD))


def encode(query: Query, answer: Answer) -> bytes:
    """Render ``answer`` for ``query``: EDNS echoed, ECS scope set, TC when it does not fit."""
    rcode = answer.rcode
    if query.edns is not None and query.edns.version > 0:
        rcode = BADVERS
        answer = Answer(rcode=BADVERS, stage=answer.stage)
    flags = QR | (query.opcode << 11) | (rcode & 0xF)
    if answer.authoritative:
        flags |= AA
    if query.rd:
        flags |= RD
    if query.recursion_allowed:
        flags |= RA
    if query.cd:
        flags |= CD
    limit = max_size(query)
    options = _reply_options(query, answer)
    opt_size = 11 + sum(4 + len(o.to_wire() or b"") for o in options) if query.edns else 0
    try:
        return _render(query, answer, flags, limit, opt_size, options, rcode)
    except dns.exception.TooBig:
        truncated = Answer(rcode=answer.rcode, authoritative=answer.authoritative)
        return _render(query, truncated, flags | TC, limit, opt_size, options, rcode)


def _reply_options(query: Query, answer: Answer) -> list[dns.edns.Option]:
    options: list[dns.edns.Option] = []
    if query.edns is None:
        return options
    ecs = query.client.ecs
    if ecs is not None:
        scope = answer.ecs_scope or 0
        options.append(dns.edns.ECSOption(ecs.address, ecs.source_prefix, scope))
    for code, text in answer.ede:
        options.append(dns.edns.EDEOption(code, text or None))
    return options


def _split_glue(answer: Answer) -> tuple[list[dns.rrset.RRset], list[dns.rrset.RRset]]:
    """The additional section as (must fit, may be left out).

    In a referral (an authority answer with NS in the authority section) the addresses of name
    servers below the cut are in-domain glue: RFC 9471 says they all go in or TC is set.
    Everything else in the additional section is optional (RFC 2181 §9).
    """
    if answer.stage != "authority" or not answer.additional:
        return [], list(answer.additional)
    cuts = [r.name for r in answer.authority if r.rdtype == dns.rdatatype.NS]
    if not cuts:
        return [], list(answer.additional)
    required, optional = [], []
    for rrset in answer.additional:
        glue = any(rrset.name.is_subdomain(cut) for cut in cuts)
        (required if glue else optional).append(rrset)
    return required, optional


def _render(
    query: Query,
    answer: Answer,
    flags: int,
    limit: int,
    opt_size: int,
    options: list[dns.edns.Option],
    rcode: int,
) -> bytes:
    renderer = dns.renderer.Renderer(query.id, flags, limit)
    renderer.add_question(query.qname, query.qtype, query.qclass)
    if opt_size:
        renderer.reserve(opt_size)
    # Records go out in the order they were given (zone file order, as NSD and Knot do), not
    # shuffled as dnspython would: the fast path replays these bytes, so they must not vary.
    for rrset in answer.answer:
        renderer.add_rrset(dns.renderer.ANSWER, rrset, want_shuffle=False)
    for rrset in answer.authority:
        renderer.add_rrset(dns.renderer.AUTHORITY, rrset, want_shuffle=False)
    required, optional = _split_glue(answer)
    for rrset in required:
        renderer.add_rrset(dns.renderer.ADDITIONAL, rrset, want_shuffle=False)  # TooBig: TC
    for rrset in optional:
        try:
            renderer.add_rrset(dns.renderer.ADDITIONAL, rrset, want_shuffle=False)
        except dns.exception.TooBig:
            continue  # additional data is optional (RFC 2181 §9): leave it out, no TC
    if opt_size:
        renderer.release_reserved()
        edns = query.edns
        assert edns is not None
        ednsflags = dns.flags.DO if edns.do else 0
        ednsflags |= ((rcode >> 4) & 0xFF) << 24
        renderer.add_edns(0, ednsflags, OUR_UDP_PAYLOAD, options)
    renderer.write_header()
    return renderer.get_wire()
