"""Two-stage plans over many futures, decomposed by future (L-shaped method).

The first stage y (commitments bought, one column per class and purchase month) is
decided by a master LP; each future f is a subproblem solved alone with y fixed, on a free
worker:
    Q_f(y) = least cost of future f given y (its tiers 1-2 held at their optimum)
    master:  min  sum_f p_f theta_f
             s.t. theta_f >= Q_f(y_k) + g_f,k (y - y_k)   for every future f, iterate k
                  y, theta >= 0
with g_f,k the reduced costs of y in future f's LP at y_k (multi-cut Benders). Iterates
stop when the best sum_f p_f Q_f(y_k) is within TOL of the master's bound: the LP optimum
of the extensive form. Whole instances: y is then rounded to whole instances and every
future solved with it (tiers.py), the LP bound standing as the bound.
Cuts are exact for tier 3 while no future leaves demand unmet or unprotected; when one
does, tiers 1-2 depend on y and the extensive form (twostage.py) is used instead.
A worker keeps the futures it has built (by scenario key) so later iterates only move y,
and only the first iterate sends it the scenario.

The figures say where the time goes: the serial part (the expected-demand LP that gives
the first y, the master, cut assembly, and whatever the map of futures takes beyond the
futures' own solves spread over the workers: moving data, waiting for the slowest)
against the futures' solves, which parallelise (bench.py turns them into Amdahl's law).
"""

from __future__ import annotations

import time
import uuid

import numpy as np

from planner.model.build import build_model
from planner.model.linear import LinearModel
from planner.model.plan import Plan, make_plan
from planner.model.solver import DEFAULT_OPTIONS, INF, HighsBackend, SolveOptions, SolverFailed
from planner.model.tiers import Lexicographic, solve_tiers
from planner.scenario.read import Scenario
from planner.scenario.uncertainty import future_scenario

TOL = 1e-8
MAX_ITERATIONS = 500
_FUTURES: dict = {}  # in each worker: (key, f) -> (Lexicographic, commitment columns)


class NotDecomposable(Exception):
    """Some future leaves demand unmet or unprotected: its tiers 1-2 depend on y."""


def evaluate(job) -> tuple[float, np.ndarray, float, float]:
    """(Q_f(y), its gradient in y, unmet + unprotected, seconds it took) of future f at y;
    the scenario comes with the first iterate only (None after it)."""
    started = time.perf_counter()
    key, scn, f, y, options = job
    if (key, f) not in _FUTURES:
        pm = build_model(future_scenario(scn, f))
        lex = Lexicographic(pm, options.solver, options.threads)
        lex.pm = None  # kept between iterates: only its solver's copy of the model is needed
        _FUTURES[(key, f)] = (lex, pm.commitment_ids)
    lex, commit = _FUTURES[(key, f)]
    lex.fix(commit, y)
    _, values, _ = lex.lp("future LP", nearest=False)
    lex.be.lean()  # next iterates only move y: dual simplex from this basis, 1/30 the memory
    return (values["cost"], lex.reduced[commit], values["unmet"] + values["unprotected"],
            time.perf_counter() - started)


def forget(key) -> None:
    """Release this worker's futures of decomposition `key` (their models and solvers)."""
    for k in [k for k in _FUTURES if k[0] == key]:
        del _FUTURES[k]


def benders(scn: Scenario, run_map=map, options: SolveOptions = DEFAULT_OPTIONS
            ) -> tuple[np.ndarray, float, float, dict]:
    """(y, lower bound, upper bound, figures) of the two-stage LP by L-shaped cuts; the
    iterations stop at the time limit of `options`, if any (figures["stopped"]). Figures
    in seconds: setup (the first y), master, cuts (assembly), map (wall time handing the
    futures out and back) and futures (their solves, summed over workers)."""
    started = time.perf_counter()
    end = INF if options.time_limit is None else started + options.time_limit
    fut = scn.futures
    ev = build_model(future_scenario(scn, None))
    commit = ev.commitment_ids
    lex = Lexicographic(ev, options.solver, options.threads)
    x, _, _ = lex.lp("expected-demand LP")
    y = x[commit]  # start from the plan for the expected demand
    master = _master(len(commit), fut.probability)
    for coefs, upper in zip(*_commitment_rows(ev, commit)):
        master.add_row(np.concatenate([coefs, np.zeros(len(fut))]), -INF, upper)
    clock = {"setup": time.perf_counter() - started, "map": 0.0, "futures": 0.0,
             "cuts": 0.0, "master": 0.0}
    key = uuid.uuid4().hex
    best, upper, lower, k = y, INF, -INF, 0
    try:
        for k in range(1, MAX_ITERATIONS + 1):
            mark = time.perf_counter()
            sent = scn if k == 1 else None  # each worker keeps its futures after the first
            results = _iterate(run_map, [(key, sent, f, y, options) for f in range(len(fut))])
            clock["map"] += time.perf_counter() - mark
            clock["futures"] += sum(r[3] for r in results)
            mark = time.perf_counter()
            value = float(fut.probability @ [r[0] for r in results])
            if value < upper:
                best, upper = y, value
            for f, (q, g, _, _) in enumerate(results):
                coefs = np.zeros(master.n_cols)
                coefs[len(commit) + f] = 1.0
                coefs[:len(commit)] = -g
                master.add_row(coefs, q - float(g @ y), INF)
            clock["cuts"] += time.perf_counter() - mark
            run = master.run()  # each iterate adds cuts: dual simplex from the last basis
            lower, y = run.objective, np.maximum(run.x[:len(commit)], 0.0)
            clock["master"] += run.seconds
            if upper - lower <= TOL * max(1.0, abs(upper)) or time.perf_counter() >= end:
                break
    finally:  # every worker lets its futures go (items are pinned: i to worker i mod N)
        list(run_map(forget, [key] * len(fut)))
    seconds = time.perf_counter() - started
    figures = {"iterations": k, "seconds": round(seconds, 3),
               "futures": len(fut), "first_stage_columns": len(commit),
               "stopped": time.perf_counter() >= end,
               **{f"{part}_s": round(value, 3) for part, value in clock.items()}}
    return best, lower, upper, figures


def _iterate(run_map, jobs: list) -> list:
    """Each future's value, gradient and shortfall at the master's commitments."""
    try:
        results = list(run_map(evaluate, jobs))
    except SolverFailed:  # a row the master does not know: the extensive form decides
        raise NotDecomposable("a future has no plan under the cuts' commitments") from None
    if max(r[2] for r in results) > 1e-6:
        raise NotDecomposable("a future leaves demand unmet or unprotected")
    return results


def _commitment_rows(pm, commit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients on y, upper bounds) of the rows that bound the commitments alone once
    the rest of the plan is zero (limits and budget: commitments count in them, and every
    other column adds to them if at all). Demand never enters these rows, so a y within
    them leaves every future a plan (serving nothing at worst): without them the master
    could propose commitments no future can hold."""
    a = pm.lp.arrays()
    matrix = a["A"].tocsr()
    on_y = matrix[:, commit]
    rest = matrix[:, np.setdiff1d(np.arange(matrix.shape[1]), commit)]
    def per_row(m) -> np.ndarray:  # entries stored in each row
        return np.diff(m.tocsr().indptr)
    rows = (np.isfinite(a["row_upper"]) & np.isinf(a["row_lower"])
            & (per_row(on_y) > 0) & (per_row(rest < 0) == 0))
    return on_y[rows].toarray(), a["row_upper"][rows]


def _master(n_y: int, probability: np.ndarray) -> HighsBackend:
    lp = LinearModel()
    lp.add_variables("y", _labels(n_y), cost=0.0)
    lp.add_variables("theta", _labels(len(probability)), cost=probability)
    return HighsBackend(lp)


def _labels(n: int):
    import pandas as pd
    return pd.DataFrame({"k": np.arange(n)})


def future_plan(job) -> Plan:
    """Future f solved alone with its commitments held at y (whole instances if asked)."""
    scn, f, y, options = job
    pm = build_model(future_scenario(scn, f))
    return make_plan(pm, solve_tiers(pm, **options.kw(), fix=(pm.commitment_ids, y)))
