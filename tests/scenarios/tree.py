"""The offline DNS tree on 127.0.40.0-127.0.44.255 (port 53) that recursion scenarios run on.

Levels are separate processes so that every referral is a real one:
root 127.0.40.1; TLDs ``test.``/``alt.`` on 127.0.41.1-2; second-level zones on 127.0.42.1-2
(``example.test`` and friends) and 127.0.43.1 (``other.test``, ``glueless.test``); the
misbehaving Python servers of :mod:`tests.support.nameservers` on 127.0.44.x.
Root hints: ``tests/data/recursion/hints`` (never the real root).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from tests.support import nameservers as ns
from tests.support.server import ResolverProcess

DATA = Path(__file__).resolve().parents[1] / "data" / "recursion"
HINTS = DATA / "hints"


def misbehaving() -> list[ns.NameServer]:
    return [
        ns.Dead("127.0.44.1", "dead.test."),
        ns.Refused("127.0.44.2", "refused.test."),
        ns.Lame("127.0.44.3", "lame.test."),
        ns.Slow("127.0.44.4", "slow.test.",
                ["www 300 A 127.0.0.74", "coalesce 300 A 127.0.0.78"]),
        ns.Flaky("127.0.44.5", "flaky.test.",
                 ["www 300 A 127.0.0.75", "two 300 A 127.0.0.76", "three 300 A 127.0.0.77"]),
        ns.NoEdns("127.0.44.6", "noedns.test.",
                  ["www 300 A 127.0.0.76",
                   "big 300 TXT " + " ".join(f'"{i:02d}{"z" * 150}"' for i in range(5))]),
        ns.Poison("127.0.44.7", "poison.test.",
                  ["www 300 A 127.0.0.70", "cname 300 CNAME www.other.test."]),
        ns.Spoof("127.0.44.8", "spoof.test.", ["www 300 A 127.0.0.80"]),
        ns.NxdomainEverywhere("127.0.44.9", "victim.alt."),
        ns.Toggle("127.0.44.11", "toggle.test.",
                  ["www 2 A 127.0.0.81", "gone 2 A 127.0.0.82", "long 300 A 127.0.0.83"]),
    ]


class Tree:
    """Start every server of the tree; ``close`` stops them."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        try:
            self.bad = self._stack.enter_context(ns.NameServerSet(misbehaving()))
            self.auth = [
                self._auth("root", "127.0.40.1"),
                self._auth("tld", "127.0.41.1", "127.0.41.2"),
                self._auth("sld_a", "127.0.42.1", "127.0.42.2"),
                self._auth("sld_b", "127.0.43.1"),
            ]
        except BaseException:
            self._stack.close()
            raise

    def _auth(self, folder: str, host: str, *more: str) -> ResolverProcess:
        extra = [arg for h in more for arg in ("--listen", f"{h}:53")]
        return self._stack.enter_context(
            ResolverProcess(DATA / folder, *extra, host=host, port=53,
                            policies=DATA / "no-policies")
        )

    def close(self) -> None:
        self._stack.close()
