"""The authority stage over zones built from text: chains, DS at a child apex, ANY, additional
data, referrals. No sockets; a Query in, an Answer out."""

from __future__ import annotations

from dataclasses import dataclass

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from resolver.authority.stage import MAX_CHAIN, AuthorityStage, Router
from resolver.authority.store import ZoneStore
from resolver.model import Answer, Client, Query
from tests.unit.authority.zones import CHILD, EXAMPLE, OTHER, store_from


@dataclass
class View:
    zones: ZoneStore
    router: Router | None = None


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> AuthorityStage:
    zones = store_from(tmp_path_factory.mktemp("zones"), (EXAMPLE, "example.test."),
                       (OTHER, "other.test."), (CHILD, "child.example.test."))
    view = View(zones)
    return AuthorityStage(lambda: view)


def ask(stage: AuthorityStage, name: str, rdtype: str, transport: str = "udp") -> Answer:
    query = Query(
        id=1, qname=dns.name.from_text(name), qtype=dns.rdatatype.from_text(rdtype), qclass=1,
        opcode=0, rd=False, cd=False, edns=None, client=Client("127.0.0.1", 53000, transport),
    )
    answer = stage.answer(query)
    assert answer is not None, name
    return answer


def names(section: tuple[dns.rrset.RRset, ...]) -> list[tuple[str, str]]:
    return [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in section]


def test_cname_chain_in_zone(stage: AuthorityStage) -> None:
    answer = ask(stage, "alias.example.test.", "A")
    assert answer.authoritative and answer.rcode == dns.rcode.NOERROR
    assert names(answer.answer) == [("alias.example.test.", "CNAME"), ("www.example.test.", "A")]
    assert answer.cacheable


def test_cname_chain_into_another_zone_served_here(stage: AuthorityStage) -> None:
    answer = ask(stage, "back.other.test.", "A")
    assert names(answer.answer) == [("back.other.test.", "CNAME"), ("www.example.test.", "A")]


def test_chain_ending_in_nodata_carries_the_last_zones_soa(stage: AuthorityStage) -> None:
    answer = ask(stage, "back.other.test.", "MX")
    assert answer.rcode == dns.rcode.NOERROR
    assert names(answer.authority) == [("example.test.", "SOA")]
    assert answer.authority[0].ttl == 600  # min(SOA TTL 7200, MINIMUM 600)


def test_chain_of_exactly_the_limit_still_ends_in_its_answer(stage: AuthorityStage) -> None:
    # v3 -> v4 -> ... -> v18 -> www: MAX_CHAIN (16) CNAMEs, then the address.
    answer = ask(stage, "v3.example.test.", "A")
    assert [t for _, t in names(answer.answer)] == ["CNAME"] * MAX_CHAIN + ["A"]


def test_chain_longer_than_the_limit_stops_there(stage: AuthorityStage) -> None:
    answer = ask(stage, "v1.example.test.", "A")
    assert answer.rcode == dns.rcode.NOERROR and answer.authoritative
    assert [t for _, t in names(answer.answer)] == ["CNAME"] * MAX_CHAIN
    assert not answer.authority


def test_dname_synthesizes_and_follows(stage: AuthorityStage) -> None:
    answer = ask(stage, "X.dn.example.test.", "A")
    assert names(answer.answer) == [
        ("dn.example.test.", "DNAME"), ("X.dn.example.test.", "CNAME"), ("x.other.test.", "A"),
    ]
    cname = answer.answer[1]
    assert cname.ttl == answer.answer[0].ttl
    assert cname[0].target == dns.name.from_text("x.other.test.")


def test_dname_answers_a_cname_question_with_the_synthesized_cname(stage: AuthorityStage) -> None:
    """RFC 6672 §3.2: the CNAME is the answer; nothing is looked up at its target."""
    answer = ask(stage, "nothere.dn.example.test.", "CNAME")
    assert answer.rcode == dns.rcode.NOERROR
    assert names(answer.answer) == [("dn.example.test.", "DNAME"),
                                    ("nothere.dn.example.test.", "CNAME")]
    assert not answer.authority


def test_ds_at_a_child_apex_comes_from_the_parent(stage: AuthorityStage) -> None:
    """RFC 4035 §3.1.4.1: DS lives on the parent side of the cut."""
    answer = ask(stage, "child.example.test.", "DS")
    assert answer.authoritative
    assert names(answer.answer) == [("child.example.test.", "DS")]
    soa = ask(stage, "child.example.test.", "SOA")
    assert names(soa.answer) == [("child.example.test.", "SOA")]


def test_ds_at_an_apex_without_a_parent_here_is_nodata(stage: AuthorityStage) -> None:
    answer = ask(stage, "other.test.", "DS")
    assert answer.rcode == dns.rcode.NOERROR and not answer.answer
    assert names(answer.authority) == [("other.test.", "SOA")]


def test_referral_has_no_aa_ns_in_authority_and_glue(stage: AuthorityStage) -> None:
    answer = ask(stage, "www.sub.example.test.", "A")
    assert not answer.authoritative and not answer.answer
    assert names(answer.authority) == [("sub.example.test.", "NS")]
    assert names(answer.additional) == [("ns1.sub.example.test.", "A")]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_any_is_one_rrset_over_every_transport(stage: AuthorityStage, transport: str) -> None:
    answer = ask(stage, "mail.example.test.", "ANY", transport)
    assert names(answer.answer) == [("mail.example.test.", "A")]


def test_additional_includes_wildcard_and_svcb_targets(stage: AuthorityStage) -> None:
    mx = ask(stage, "mx-wild.example.test.", "MX")
    assert names(mx.additional) == [("x.wild.example.test.", "A")]
    svcb = ask(stage, "svc.example.test.", "SVCB")
    assert names(svcb.additional) == [("www.example.test.", "A")]
    srv = ask(stage, "srv.example.test.", "SRV")
    assert names(srv.additional) == [("www.example.test.", "A")]


def test_names_in_no_zone_are_not_ours(stage: AuthorityStage) -> None:
    query = Query(1, dns.name.from_text("example.net."), 1, 1, 0, False, False, None,
                  Client("127.0.0.1", 1, "udp"))
    assert stage.answer(query) is None  # the pipeline then answers REFUSED
