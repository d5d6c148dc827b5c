"""The repository documents itself: every key a scenario may hold is in docs/scenario.md,
every catalog column in docs/catalog.md (users have only the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.catalog.read import SCHEMA
from planner.scenario import read as scenario_module
from planner.scenario.read import load_scenario

ROOT = Path(__file__).parent.parent
EXTRA = """
uncertainty:
  sample: {count: 3, seed: 7, level_sd: 0.1, growth_sd: 0.01}
  risk: {cvar_weight: 0.5, alpha: 0.9}
"""


def accepted_keys(monkeypatch, paths: list[Path]) -> set[str]:
    """Every key the scenario reader allows in the mappings it reads for these files."""
    seen: set[str] = set()
    original = scenario_module._Reader.mapping

    def mapping(self, path, value, allowed, required=()):
        seen.update(allowed)
        return original(self, path, value, allowed, required)
    monkeypatch.setattr(scenario_module._Reader, "mapping", mapping)
    for path in paths:
        load_scenario(path)
    return seen


def test_every_scenario_key_is_documented(monkeypatch, tmp_path):
    bundled = sorted((ROOT / "scenarios").glob("*.yaml"))
    text = (ROOT / "scenarios" / "team-eu-uk.yaml").read_text()
    sampled = ROOT / "scenarios" / "docs-check.yaml"  # beside the bundled catalog
    requests = "\n    requests:\n      - {input_tokens: 512, output_tokens: 128, share: 1}\n"
    try:
        sampled.write_text(text.replace("    utilization:", requests.lstrip("\n")
                                        + "    utilization:", 1) + EXTRA)
        keys = accepted_keys(monkeypatch, [*bundled, sampled])
    finally:
        sampled.unlink()
    assert {"measured_on", "memory_headroom", "count_spot", "kind", "requests",
            "input_tokens", "sample", "cvar_weight"} <= keys
    docs = (ROOT / "docs" / "scenario.md").read_text()
    missing = sorted(k for k in keys if not re.search(rf"`([\w<>\[\]]+\.)*{k}`", docs))
    assert not missing, f"docs/scenario.md does not name: {missing}"


@pytest.mark.parametrize("table", sorted(SCHEMA))
def test_every_catalog_column_is_documented(table):
    docs = (ROOT / "docs" / "catalog.md").read_text()
    assert f"## `{table}`" in docs
    missing = [c.name for c in SCHEMA[table] if f"`{c.name}`" not in docs]
    assert not missing, f"docs/catalog.md does not name {table} columns {missing}"
