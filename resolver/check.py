"""``resolver check``: every zone and policy file, validated exactly as the server validates
them at startup and on reload (the same :class:`Runtime` loading code, without serving).

Output is one ``FILE:LINE: message`` line per problem on stdout, in file and line order, and a
summary on stderr; the exit status is 1 when there is any problem, like named-checkzone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from resolver.authority.catalog import scan
from resolver.authority.load import Problem
from resolver.config.policies import check_config as check_policy_files
from resolver.config.schema import ServerConfig
from resolver.runtime import Runtime

# Extra checkers (policies) register here: config -> problems.
CHECKERS: list[Callable[[ServerConfig], list[Problem]]] = []
CHECKERS.append(check_policy_files)


def zone_problems(zones: Path) -> tuple[int, list[Problem]]:
    """(number of zone files, their problems), as a server starting on ``zones`` sees them."""
    problems = Runtime(zones).load_zones()
    return len(scan(zones)), sorted(problems, key=lambda p: (p.file, p.line))


def collect_problems(config: ServerConfig) -> tuple[int, list[Problem]]:
    """(number of zone files looked at, problems found in zones and policies)."""
    count, problems = zone_problems(Path(config.zones))
    for checker in CHECKERS:
        problems.extend(checker(config))
    return count, problems


def run_check(config: ServerConfig) -> int:
    if not Path(config.zones).is_dir():
        print(f"note: zones folder {config.zones} does not exist", file=sys.stderr)
    count, problems = collect_problems(config)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {count} zone file(s) valid", file=sys.stderr)
    return 0
