"""What we know about each upstream server address: smoothed RTT, timeouts, lameness, EDNS.

Sans-I/O: the clock (``now``) and the random source are passed in. The numbers follow
RFC 6298 (SRTT/RTTVAR, RTO doubled per timeout) with Unbound-like choices: an unknown server
is tried as if it were fast (so every server gets measured), a server that times out
``dead_after`` times in a row is held down for a while instead of being waited on again,
and a server that is lame for a zone (REFUSED, or not authoritative) is skipped for that zone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import dns.name


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    unknown_rtt: float = 0.05  # the selection score of a server never measured
    initial_rto: float = 0.5  # first timeout towards a server never measured
    min_rto: float = 0.3
    max_rto: float = 2.0
    dead_after: int = 3  # consecutive timeouts before a server is held down
    holddown: float = 15.0  # first hold-down; doubles while the server stays dead
    max_holddown: float = 300.0
    lame_ttl: float = 600.0
    no_edns_ttl: float = 3600.0
    max_servers: int = 10_000  # addresses remembered (oldest forgotten first)


class _Stats:
    __slots__ = ("srtt", "rttvar", "timeouts", "down_until", "holddown", "no_edns_until")

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.timeouts = 0
        self.down_until = 0.0
        self.holddown = 0.0
        self.no_edns_until = 0.0


class Servers:
    def __init__(self, policy: ServerPolicy | None = None) -> None:
        self.policy = policy or ServerPolicy()
        self._stats: dict[str, _Stats] = {}
        self._lame: dict[tuple[str, dns.name.Name], float] = {}

    def _get(self, address: str) -> _Stats:
        stats = self._stats.get(address)
        if stats is None:
            if len(self._stats) >= self.policy.max_servers:
                self._stats.pop(next(iter(self._stats)))
            stats = self._stats[address] = _Stats()
        return stats

    # -- what a resolution asks ------------------------------------------------------------

    def rto(self, address: str) -> float:
        """How long to wait for this server's answer before trying again."""
        p = self.policy
        stats = self._stats.get(address)
        if stats is None or stats.srtt is None:
            base = p.initial_rto
        else:
            base = max(p.min_rto, stats.srtt + 4 * stats.rttvar)
        if stats is not None:
            base *= 2 ** min(stats.timeouts, 4)
        return min(base, p.max_rto)

    def usable(self, address: str, zone: dns.name.Name, now: float) -> bool:
        stats = self._stats.get(address)
        if stats is not None and stats.down_until > now:
            return False
        return not self.is_lame(address, zone, now)

    def is_lame(self, address: str, zone: dns.name.Name, now: float) -> bool:
        until = self._lame.get((address, zone))
        if until is None:
            return False
        if until <= now:
            del self._lame[(address, zone)]
            return False
        return True

    def edns_ok(self, address: str, now: float) -> bool:
        stats = self._stats.get(address)
        return stats is None or stats.no_edns_until <= now

    def choose(
        self,
        candidates: Sequence[str],
        zone: dns.name.Name,
        now: float,
        rng: random.Random,
        tries: dict[str, int],
        max_tries: int,
    ) -> str | None:
        """The best usable address not yet tried ``max_tries`` times in this resolution."""
        best: tuple[float, float, str] | None = None
        for address in candidates:
            used = tries.get(address, 0)
            if used >= max_tries or not self.usable(address, zone, now):
                continue
            stats = self._stats.get(address)
            rtt = self.policy.unknown_rtt if stats is None or stats.srtt is None else stats.srtt
            if stats is not None and stats.timeouts:
                rtt = max(rtt, self.rto(address))
            score = (rtt + 0.01) * (1 + 3 * used)
            key = (score, rng.random(), address)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    # -- what a resolution reports ---------------------------------------------------------

    def on_rtt(self, address: str, rtt: float) -> None:
        stats = self._get(address)
        if stats.srtt is None:
            stats.srtt, stats.rttvar = rtt, rtt / 2
        else:
            stats.rttvar = 0.75 * stats.rttvar + 0.25 * abs(stats.srtt - rtt)
            stats.srtt = 0.875 * stats.srtt + 0.125 * rtt
        stats.timeouts = 0
        stats.down_until = 0.0
        stats.holddown = 0.0

    def on_timeout(self, address: str, now: float) -> None:
        p = self.policy
        stats = self._get(address)
        stats.timeouts += 1
        if stats.timeouts >= p.dead_after:
            stats.holddown = min(max(p.holddown, stats.holddown * 2), p.max_holddown)
            stats.down_until = now + stats.holddown
            stats.timeouts = p.dead_after - 1  # one more timeout after the hold-down: down again

    def on_unreachable(self, address: str, now: float) -> None:
        """An ICMP error: nothing listens there, no point waiting for it."""
        for _ in range(self.policy.dead_after):
            self.on_timeout(address, now)

    def mark_lame(self, address: str, zone: dns.name.Name, now: float) -> None:
        if len(self._lame) >= self.policy.max_servers:
            self._lame.pop(next(iter(self._lame)))
        self._lame[(address, zone)] = now + self.policy.lame_ttl

    def mark_no_edns(self, address: str, now: float) -> None:
        self._get(address).no_edns_until = now + self.policy.no_edns_ttl

    def snapshot(self) -> dict[str, dict[str, float | int | None]]:
        """For logs and the admin API: per address SRTT, RTO and timeouts."""
        return {
            address: {"srtt": s.srtt, "rto": self.rto(address), "timeouts": s.timeouts,
                      "down_until": s.down_until}
            for address, s in self._stats.items()
        }
