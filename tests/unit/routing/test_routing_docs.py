"""Every YAML example in docs/policies.md loads without a problem (CoreDNS's readme_test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.policies import policies_from, zone_data

DOC = Path(__file__).resolve().parents[3] / "docs" / "policies.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
SHARED = next(b for b in BLOCKS if b.startswith("# policies/pools.yaml"))


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_loads(index: int, tmp_path: Path) -> None:
    block = BLOCKS[index]
    zones = zone_data(tmp_path)
    if block is SHARED:
        _, problems = policies_from("", zones, SHARED)
    else:
        shared = SHARED if block.startswith("# uses policies/pools.yaml") else ""
        policies, problems = policies_from(block, zones, shared)
        assert policies.records
    assert problems == [], "\n".join(str(p) for p in problems)
