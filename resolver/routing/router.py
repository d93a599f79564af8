"""The router: fills a policy-bound name per query. ``select(entry, query) -> Routed``.

One query reads one health snapshot (``health()``), matches a rule for the client (the ECS
subnet when sent, else the source address), walks the rule's pools and fallbacks, and builds
the RRset. Health changes need no rebuild: the next query reads the next snapshot. A new
policy set builds a new Router; the round-robin state is handed over so rotation goes on.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Mapping, Sequence

import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from resolver.authority.zone import Dynamic
from resolver.health.model import HealthSnapshot
from resolver.model import Query, Routed
from resolver.routing import failover
from resolver.routing.base import Ctx, Outcome
from resolver.routing.eligibility import candidates, compile_pool
from resolver.routing.geo import Match, RuleIndex
from resolver.routing.geomap import IP, GeoDB
from resolver.routing.latency import order_by, pool_rtt, table_row
from resolver.routing.registry import MODES
from resolver.routing.spec import Member, PolicySet, RecordPolicy, Rule
from resolver.routing.weighted import SmoothWRR, active, pick_random, signature

MEMO_SIZE = 65536


class Router:
    def __init__(self, policies: PolicySet, health: Callable[[], HealthSnapshot],
                 geo: GeoDB | None = None, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, wrr: SmoothWRR | None = None,
                 down: frozenset[str] = frozenset(), tracing: bool = False) -> None:
        self.policies = policies
        self.health = health
        self.geo = geo
        self.clock = clock
        self.rng = rng or random.Random()
        self.wrr = wrr or SmoothWRR()
        self.down = down
        self.tracing = tracing
        self._slots = {pid: compile_pool(pool) for pid, pool in policies.pools().items()}
        self._plans = {key: Plan(p) for key, p in policies.records.items()}
        self._matches: dict[tuple[object, ...], Match] = {}
        # Verdicts per pool for the current snapshot (not for explain: it has a what-if set).
        self._memo: dict[str, tuple[object, list, list]] | None = (
            None if tracing or down else {})
        self._rrsets: dict[tuple[object, ...], dns.rrset.RRset] = {}
        # (plan, rule) -> (snapshot, Shortcut or None): decisions that, for one snapshot,
        # come down to a fixed answer or one pick among fixed members (see Shortcut).
        self._shortcuts: dict[tuple[int, int | None], tuple[object, Shortcut | None]] | None = (
            None if tracing or down else {})

    def plan(self, policy: RecordPolicy) -> Plan:
        return self._plans[(policy.name, policy.rdtype)]

    def select(self, entry: Dynamic, query: Query) -> Routed:
        policy = self.policies.find(entry.name, entry.rdtype)
        if policy is None:
            return Routed(None, dns.rcode.SERVFAIL, trace=(f"no policy for {entry.name}",))
        ecs = query.client.ecs
        if ecs is not None and ecs.source_prefix > 0:
            return self.decide(policy, entry, ecs.address, ecs.source_prefix)
        return self.decide(policy, entry, query.client.address, None)

    def decide(self, policy: RecordPolicy, entry: Dynamic, subject: str,
               source_prefix: int | None) -> Routed:
        """The answer for ``subject`` (an address; ``source_prefix``: its ECS prefix)."""
        return self.decide_plan(self._plans[(policy.name, policy.rdtype)], entry, subject,
                                source_prefix)

    def decide_plan(self, plan: Plan, entry: Dynamic, subject: str,
                    source_prefix: int | None) -> Routed:
        shortcuts = self._shortcuts
        if shortcuts is not None and entry.name is plan.policy.name:
            match = plan.fixed or self._match(plan, subject, source_prefix)
            snap = self.health()
            key = (id(plan), match.rule)
            known = shortcuts.get(key)
            if known is None or known[0] is not snap:
                known = (snap, self._shortcut(plan, entry, match, snap))
                shortcuts[key] = known
            shortcut = known[1]
            if shortcut is not None:
                scope = 0
                if plan.dependent and source_prefix is not None:
                    scope = min(match.scope, source_prefix)
                return shortcut.take(self, scope)
        return self._decide(plan, entry, subject, source_prefix)

    def _shortcut(self, plan: Plan, entry: Dynamic, match: Match, snap: HealthSnapshot
                  ) -> Shortcut | None:
        """What :meth:`_decide` would do for this rule under ``snap``, prepared once."""
        policy = plan.policy
        ctx = Ctx(snap, self.clock(), self.rng, self.wrr, self._slots, self.down, None,
                  self._memo)
        if match.rule is None:
            return Shortcut(self._outcome(entry, plan, failover.record_values(policy, ctx, "")))
        rule = policy.rules[match.rule]
        if rule.latency is not None and len(rule.pools) >= 2:
            return None  # the pool order depends on the client or on measured RTTs
        found = failover.settled(policy, plan.chains[match.rule], ctx)
        if found is None:
            return None
        pool, eligible = found
        if pool is None:
            return Shortcut(self._outcome(entry, plan, failover.all_down(policy, rule.pools,
                                                                         ctx)))
        if pool.mode in ("weighted", "random"):
            members, standby = active([c.member for c in eligible])
            picks = {m.value: self._outcome(entry, plan, Outcome((m.value,))) for m in members}
            return Shortcut(None, pool.id, pool.mode == "random", members, standby, picks)
        values = MODES[pool.mode](pool, eligible, ctx)
        return Shortcut(self._outcome(entry, plan, Outcome(values, pool=pool.id)))

    def _outcome(self, entry: Dynamic, plan: Plan, outcome: Outcome
                 ) -> tuple[dns.rrset.RRset | None, int]:
        values = outcome.values
        return (None if values is None else self._rrset(entry, plan, values)), outcome.rcode

    def _decide(self, plan: Plan, entry: Dynamic, subject: str,
                source_prefix: int | None) -> Routed:
        policy = plan.policy
        trace: list[str] | None = [] if self.tracing else None
        ctx = Ctx(self.health(), self.clock(), self.rng, self.wrr, self._slots, self.down, trace,
                  self._memo)
        match = plan.fixed or self._match(plan, subject, source_prefix)
        if trace is not None:
            ecs = f" (ECS /{source_prefix})" if source_prefix is not None else ""
            trace.append(f"policy {policy.fqdn} {_type(policy.rdtype)} from {policy.where}; "
                         f"client {subject}{ecs}")
            trace.append(f"rule: {_rule_name(policy, match)}: {match.why}")
        if match.rule is None:
            outcome = failover.record_values(policy, ctx, "no rule matched")
        else:
            rule = policy.rules[match.rule]
            if rule.latency is None or len(rule.pools) < 2:
                outcome = failover.answer(policy, rule.pools, ctx, plan.chains[match.rule])
            else:
                first = self._order(policy, rule, match, subject, ctx)
                outcome = failover.answer(policy, first, ctx)
        scope = 0
        if plan.dependent and source_prefix is not None:
            scope = min(match.scope, source_prefix)
        if trace is not None:
            trace.append(f"ttl {policy.ttl}, ECS scope /{scope}")
        rrset = None
        if outcome.values is not None:
            rrset = self._rrset(entry, plan, outcome.values)
        return Routed(rrset, outcome.rcode, scope, tuple(trace) if trace is not None else ())

    def _match(self, plan: Plan, subject: str, prefix: int | None) -> Match:
        key = (id(plan), subject, prefix)
        match = self._matches.get(key)
        if match is None:
            match = plan.rules.match(_ip(subject), self.geo)
            if len(self._matches) >= MEMO_SIZE:
                self._matches.clear()
            self._matches[key] = match
        return match

    def _order(self, policy: RecordPolicy, rule: Rule, match: Match, subject: str,
               ctx: Ctx) -> list[str]:
        if rule.latency is None or len(rule.pools) < 2:
            return list(rule.pools)
        if rule.latency == "table" and rule.table is not None:
            row = table_row(rule.table, _ip(subject), match.geo)
            if row is not None:
                ordered = order_by(rule.pools, row[1])
                ctx.note(f"latency table row {row[0]}: {', '.join(ordered)}")
                return ordered
            ctx.note("latency table: no row for this client, listed order")
            return list(rule.pools)
        cost = {
            pid: pool_rtt(candidates(policy.pools[pid], self._slots[pid], ctx.snap, ctx.now,
                                     ctx.down))
            for pid in rule.pools
        }
        ordered = order_by(rule.pools, cost)
        if ctx.trace is not None:
            shown = ", ".join(f"{p} {cost[p] * 1000:.1f} ms" for p in ordered)
            ctx.note(f"measured latency order: {shown}")
        return ordered

    def _rrset(self, entry: Dynamic, plan: Plan, values: tuple[str, ...]) -> dns.rrset.RRset:
        policy = plan.policy
        # The owner is the policy's name, except for a wildcard's (then the query name).
        key = (id(plan), values) if entry.name is policy.name else (entry.name, values)
        rrset = self._rrsets.get(key)
        if rrset is None:
            rrset = dns.rrset.RRset(entry.name, dns.rdataclass.IN, policy.rdtype)
            for value in values:
                rrset.add(dns.rdata.from_text(dns.rdataclass.IN, policy.rdtype, value),
                          policy.ttl)
            if len(self._rrsets) >= MEMO_SIZE:
                self._rrsets.clear()
            self._rrsets[key] = rrset
        return rrset


class Shortcut:
    """A decision prepared for one snapshot: a fixed outcome, or one pick (smooth WRR, or
    weighted random) among fixed members, each with its RRset ready. Routed values are kept
    per (outcome, ECS scope), so a query builds nothing."""

    __slots__ = ("fixed", "pool_id", "random", "members", "standby", "picks", "signature",
                 "_routed")

    def __init__(self, fixed: tuple[dns.rrset.RRset | None, int] | None, pool_id: str = "",
                 random: bool = False, members: Sequence[Member] = (), standby: bool = False,
                 picks: Mapping[str, tuple[dns.rrset.RRset | None, int]] | None = None) -> None:
        self.fixed = fixed
        self.pool_id = pool_id
        self.random = random
        self.members = members
        self.standby = standby
        self.picks = picks or {}
        self.signature = signature(members, standby)
        self._routed: dict[tuple[str, int], Routed] = {}

    def take(self, router: Router, scope: int) -> Routed:
        if self.fixed is not None:
            value = ""
            outcome = self.fixed
        else:
            if self.random:
                member = pick_random(self.members, router.rng, self.standby)
            else:
                member = router.wrr.pick_signed(self.pool_id, self.signature, self.members,
                                                self.standby)
            value = member.value
            outcome = self.picks[value]
        routed = self._routed.get((value, scope))
        if routed is None:
            routed = self._routed[(value, scope)] = Routed(outcome[0], outcome[1], scope)
        return routed


class Plan:
    """One record's policy, pre-digested for the per-query path."""

    __slots__ = ("policy", "rules", "dependent", "chains", "fixed")

    def __init__(self, policy: RecordPolicy) -> None:
        self.policy = policy
        self.rules = RuleIndex(policy)
        self.dependent = policy.client_dependent
        self.chains = tuple(failover.chain(policy, r.pools) for r in policy.rules)
        # A record without client-dependent rules matches the same rule for everyone.
        self.fixed: Match | None = None if self.dependent else self.rules.match(None, None)


def _ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _type(rdtype: int) -> str:
    return dns.rdatatype.to_text(rdtype)


def _rule_name(policy: RecordPolicy, match: Match) -> str:
    if match.rule is None:
        return "none"
    rule = policy.rules[match.rule]
    return f"{match.rule + 1} (line {rule.where.line}, pools {', '.join(rule.pools)})"
