"""Hand a LinearModel to a solver: HiGHS in bulk through highspy, or any solver through PuLP.

HiGHS receives the whole model in one passModel call (columns, costs, bounds, integrality
and the CSC matrix), never row by row. PuLP is the straightforward route: it rebuilds the
same matrix as PuLP expressions, for CBC when highspy is missing and for cross-checks.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from planner.linear import LinearModel

DEFAULT_GAP = 1e-6  # relative MIP gap: penalties for unmet demand make objectives large


class SolverFailed(Exception):
    """The solver ended without any plan (infeasible, unbounded, or no incumbent in time)."""


@dataclass
class Solution:
    status: str  # "optimal" or "time_limit"
    x: np.ndarray
    duals: np.ndarray | None  # row duals, where the solver gives them (LPs)
    objective: float
    solver: str
    seconds: float  # inside the solver
    gap: float
    handoff_seconds: float = 0.0  # building the solver's copy of the model


def solve_lp(lp: LinearModel, solver: str = "auto", time_limit: float | None = None,
             gap: float | None = None, threads: int | None = None) -> Solution:
    """Solve with `solver` in {"auto", "highs", "pulp-highs", "cbc"}."""
    if solver == "auto":
        try:
            import highspy  # noqa: F401
            solver = "highs"
        except ImportError:
            solver = "cbc"
    gap = DEFAULT_GAP if gap is None else gap
    if solver == "highs":
        started = time.perf_counter()
        arrays = lp.arrays()
        matrix_seconds = time.perf_counter() - started
        sol = _solve_highs(arrays, time_limit, gap, threads)
        sol.handoff_seconds += matrix_seconds
        return sol
    return _solve_pulp(lp, solver, time_limit, gap, threads)


def relaxation(lp: LinearModel) -> Solution:
    """The LP relaxation (integrality dropped), with its row duals."""
    a = lp.arrays()
    a["integer"] = np.zeros_like(a["integer"])
    sol = _solve_highs(a, None, DEFAULT_GAP, None)
    if sol.duals is None:
        raise SolverFailed("HiGHS gave no duals for the LP relaxation")
    return sol


@contextlib.contextmanager
def _no_banner():
    """HiGHS prints a banner on stdout from C++ when first created: keep stdout for plans."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved), os.close(null)


def _solve_highs(a: dict[str, np.ndarray], time_limit, gap, threads) -> Solution:
    import highspy

    handoff = time.perf_counter()
    n_cols, n_rows = a["A"].shape[1], a["A"].shape[0]
    is_mip = bool(a["integer"].any())
    with _no_banner():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n_cols, n_rows
    model.col_cost_, model.col_lower_, model.col_upper_ = a["cost"], a["lower"], a["upper"]
    model.row_lower_, model.row_upper_ = a["row_lower"], a["row_upper"]
    matrix = a["A"]
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n_cols, n_rows
    model.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    model.a_matrix_.index_ = matrix.indices.astype(np.int32)
    model.a_matrix_.value_ = matrix.data
    if is_mip:
        model.integrality_ = np.where(a["integer"], highspy.HighsVarType.kInteger,
                                      highspy.HighsVarType.kContinuous).tolist()
    if not is_mip:  # interior point with crossover: 2-4x faster than simplex on fleet LPs
        h.setOptionValue("solver", "ipm")
    h.passModel(model)
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    handoff = started - handoff
    status = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2  # feasible point
    S = highspy.HighsModelStatus
    if status == S.kOptimal or (status == S.kModelEmpty):
        label = "optimal"
    elif status in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt) and has_plan:
        label = "time_limit"
    else:
        raise SolverFailed(f"HiGHS found no plan: {h.modelStatusToString(status)}")
    sol = h.getSolution()
    x = np.asarray(sol.col_value) if n_cols else np.zeros(0)
    duals = np.asarray(sol.row_dual) if (not is_mip and sol.dual_valid) else None
    objective = float(a["cost"] @ x)
    mip_gap = float(info.mip_gap) if is_mip else 0.0
    return Solution(label, x, duals, objective, f"HiGHS {h.version()}", seconds, mip_gap,
                    handoff)


def _solve_pulp(lp: LinearModel, solver: str, time_limit, gap, threads) -> Solution:
    import pulp

    handoff = time.perf_counter()
    a = lp.arrays()
    prob = pulp.LpProblem("plan", pulp.LpMinimize)
    xs = [prob.add_variable(f"x{j}", lowBound=0, upBound=None if np.isinf(u) else u,
                            cat=pulp.LpInteger if i else pulp.LpContinuous)
          for j, (u, i) in enumerate(zip(a["upper"], a["integer"]))]
    prob += pulp.LpAffineExpression([(xs[j], c) for j, c in enumerate(a["cost"]) if c])
    csr = a["A"].tocsr()
    for r in range(lp.n_rows):
        lo, hi = a["row_lower"][r], a["row_upper"][r]
        cols = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
        vals = csr.data[csr.indptr[r]:csr.indptr[r + 1]]
        expr = pulp.LpAffineExpression(list(zip((xs[j] for j in cols), vals)))
        if lo == hi:
            prob += expr == lo
        else:
            if np.isfinite(lo):
                prob += expr >= lo
            if np.isfinite(hi):
                prob += expr <= hi
    options = {"msg": False, "timeLimit": time_limit, "gapRel": gap}
    if solver == "cbc":
        backend = pulp.PULP_CBC_CMD(threads=threads, **options)
    else:
        backend = pulp.HiGHS(threads=threads, **options)
    started = time.perf_counter()
    with _no_banner():
        prob.solve(backend)
    seconds = time.perf_counter() - started
    handoff = started - handoff
    x = np.array([v.varValue or 0.0 for v in xs])
    if pulp.LpStatus[prob.status] != "Optimal" or (lp.n_cols and np.isnan(x).any()):
        raise SolverFailed(f"{solver} found no plan: {pulp.LpStatus[prob.status]}")
    # PuLP says "Optimal" for an incumbent found before the time limit too; sol_status tells
    proven = prob.sol_status == pulp.LpSolutionOptimal
    return Solution("optimal" if proven else "time_limit", x, None, float(a["cost"] @ x),
                    f"{backend.name} via PuLP", seconds, 0.0 if proven else float("nan"),
                    handoff)
