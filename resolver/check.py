"""``resolver check``: every zone and policy file, validated exactly as reload validates it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from resolver.authority.catalog import load_zone_file, scan
from resolver.authority.load import Problem
from resolver.config.schema import ServerConfig

# Extra checkers (policies) register here: config -> problems.
CHECKERS: list[Callable[[ServerConfig], list[Problem]]] = []


def collect_problems(config: ServerConfig) -> tuple[int, list[Problem]]:
    """(number of files looked at, problems found)."""
    problems: list[Problem] = []
    files = scan(Path(config.zones))
    origins: dict[object, str] = {}
    for path in files:
        result = load_zone_file(path)
        problems.extend(result.problems)
        if result.data is not None:
            origin = result.data.origin
            if origin in origins:
                problems.append(Problem(str(path), 1, f"zone {origin} is also defined in "
                                        f"{origins[origin]}"))
            origins[origin] = str(path)
    count = len(files)
    for checker in CHECKERS:
        problems.extend(checker(config))
    return count, problems


def run_check(config: ServerConfig) -> int:
    count, problems = collect_problems(config)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {count} zone file(s) valid", file=sys.stderr)
    return 0
