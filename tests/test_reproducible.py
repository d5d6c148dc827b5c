"""The same scenario gives the same plan on any machine, busy or not: every search limit
counts work (branch-and-bound nodes), never seconds."""

from __future__ import annotations

import json
import multiprocessing
import time

import planner

from conftest import workload

YEAR = "horizon: {start: 2027-01, months: 12}\n"


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def plan_of(path) -> str:
    d = planner.solve(path).to_dict()
    d["solver"] = {k: v for k, v in d["solver"].items() if k in ("gap", "bound", "name")}
    keep = ("status", "total_cost", "purchases", "assignments", "deployment", "solver",
            "fingerprint")
    return json.dumps({k: d[k] for k in keep}, sort_keys=True)


def test_the_same_plan_beside_two_busy_processes(make):
    # a year, whole instances, commitments, resilience, a limit and spot: many MILPs
    body = YEAR + workload("{us-east: {start: 9000, growth: 0.12}, eu: 11000}",
                           utilization="0.8", spot="0.2") + \
        "resilience: {survive: region, keep: 0.3}\nlimits:\n  - {provider: aws, chips: 40}\n" \
        "purchase: {terms: [12]}\n"
    path = make(body)
    quiet = plan_of(path)
    busy = [multiprocessing.get_context("spawn").Process(target=_spin, args=(60.0,))
            for _ in range(2)]
    for p in busy:
        p.start()
    try:
        loaded = plan_of(path)
    finally:
        for p in busy:
            p.terminate()
            p.join()
    assert loaded == quiet
