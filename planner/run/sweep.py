"""Sweeps (spec section 9): one scenario solved for every combination of values set on its
keys, one row per variant.

A KEY is a scenario key path as in error messages (`providers.aws.discount`,
`workloads.chat.slo.ttft_ms`, `limits[0].chips`) or `demand`, a multiplier on all demand.
Every variant is loaded and checked before any is solved, so a bad value stops the sweep
with nothing solved; the variants then go to an executor as loaded scenarios (workers
need the planner, not the scenario's files) and are solved with one solver thread each,
so that every executor gives the same answers to the cent.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from planner.errors import PlanError
from planner.run.executor import Executor
from planner.run.pipeline import solve
from planner.scenario.read import Scenario, _Loader, load_scenario

DEMAND = "demand"  # not a scenario key: a multiplier on every workload's demand
DIMENSIONS = ("provider", "accelerator")


def parse_settings(texts: list[str]) -> dict[str, list]:
    """`KEY=V1,V2,...` texts -> {KEY: [values]}, each value read as a YAML scalar (as in a
    scenario file: 0.1, 5.0e7, true, region)."""
    settings: dict[str, list] = {}
    for given in texts:
        key, equals, values = given.partition("=")
        key = key.strip()
        if not equals or not key or key in settings:
            problem = f"{key} is set twice" if key in settings else "expected KEY=V1,V2,..."
            raise PlanError(f"{problem}, got {given!r}", path="--set")
        settings[key] = []
        for value in values.split(","):
            try:
                parsed = yaml.load(value, Loader=_Loader)
            except yaml.YAMLError:
                parsed = None
            if parsed is None or isinstance(parsed, (list, dict)):
                raise PlanError(f"expected a number, true, false or a name, got {value!r}",
                                path=f"--set {key}")
            settings[key].append(parsed)
    return settings


def variants(settings: dict[str, list]) -> list[dict]:
    """Every combination of the values, the last key varying fastest."""
    return [dict(zip(settings, values)) for values in itertools.product(*settings.values())]


def scaled(scn: Scenario, factor: float) -> Scenario:
    """`scn` with every workload's demand multiplied by `factor`."""
    workloads = {name: dataclasses.replace(w, demand={m: d * factor
                                                      for m, d in w.demand.items()})
                 for name, w in scn.workloads.items()}
    return dataclasses.replace(scn, workloads=workloads)


def load_variant(path: str | Path, values: dict) -> Scenario:
    """The scenario at `path` with `values` set (key path -> value, or `demand`)."""
    scn = load_scenario(path, overrides={k: v for k, v in values.items() if k != DEMAND})
    if DEMAND not in values:
        return scn
    factor = values[DEMAND]
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or \
            not np.isfinite(factor) or factor < 0:
        raise PlanError(f"expected a multiplier >= 0 on all demand, got {factor!r}",
                        path=f"--set {DEMAND}")
    return scaled(scn, factor)


def solve_variant(task: tuple[Scenario, float | None]) -> dict:
    """Solve one variant (one solver thread) and answer its row: status, total cost, unmet
    and unprotected tokens/s-months, and per provider and accelerator its part of the total
    cost (commitments counted in full, as in the total)."""
    scn, time_limit = task
    plan = solve(scn, time_limit=time_limit, threads=1)
    row = {"status": plan.status, "total_cost": plan.total_cost,
           "unmet": float(plan.unmet["tokens_per_s"].sum()),
           "unprotected": float(plan.unprotected["tokens_per_s"].sum())}
    for dim in DIMENSIONS:
        after = plan.purchases.groupby(dim)["cost_after_horizon"].sum()
        cost = plan.cost_by(dim).add(after, fill_value=0.0)
        row.update({f"{dim}:{name}": float(value) for name, value in cost.items()})
    return row


def sweep(path: str | Path, settings: dict[str, list], executor: Executor,
          time_limit: float | None = None) -> pd.DataFrame:
    """One row per combination of `settings` ({KEY: [values]}): the values (a column per
    KEY), status, total_cost, unmet, unprotected, `provider:<name>` and
    `accelerator:<id>` costs (0 where a variant uses none)."""
    if not settings or not all(settings.values()):
        raise PlanError("expected at least one KEY with values to sweep", path="--set")
    chosen = variants(settings)
    scenarios = [load_variant(path, values) for values in chosen]
    rows = executor.map(solve_variant, [(scn, time_limit) for scn in scenarios])
    frame = pd.concat([pd.DataFrame(chosen, dtype=object), pd.DataFrame(rows)], axis=1)
    costs = {dim: sorted(c for c in frame.columns if c.startswith(f"{dim}:"))
             for dim in DIMENSIONS}
    shown = [*settings, "status", "total_cost", "unmet", "unprotected", *costs["provider"],
             *costs["accelerator"]]
    return frame[shown].fillna({c: 0.0 for cs in costs.values() for c in cs})
