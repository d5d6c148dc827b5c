"""Solver backends: one model handed over once, then re-solved with other objectives.

The lexicographic solve (tiers.py) asks one model many questions: least unmet demand, then
least unprotected demand with that held, then least cost, each first as an LP and then with
whole instances. A backend therefore keeps its copy of the model and changes it in place:
objective, extra rows that hold a tier, column bounds, integrality, a starting plan.

HiGHS receives the whole model in one passModel call (columns, costs, bounds and the CSC
matrix), never row by row, and later changes go in bulk too. PuLP is the straightforward
route, for CBC when highspy is missing and for cross-checks: it rebuilds the same matrix
as PuLP expressions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.model.linear import LinearModel

INF = math.inf
HUGE = 1e30  # PuLP's stand-in for an infinite row bound
FACE_TOL = 1e-9  # a dual above this (times the largest cost) is not zero: off the face


class SolverFailed(Exception):
    """The solver ended without any plan (infeasible, unbounded, or no incumbent in time)."""


@dataclass(frozen=True)
class SolveOptions:
    """How to search, one object for every path (single plans, tiers, extensive form,
    decomposition, VSS/EVPI, sweeps): the backend, the user's time limit (seconds: the only
    limit that makes a plan depend on the machine), the gap asked for, solver threads."""

    solver: str = "auto"
    time_limit: float | None = None
    gap: float | None = None
    threads: int | None = None

    def kw(self) -> dict:
        """As keyword arguments of `tiers.solve_tiers`."""
        return {"solver": self.solver, "time_limit": self.time_limit, "gap": self.gap,
                "threads": self.threads}

    def within(self, seconds_left: float | None) -> SolveOptions:
        """The same options with at most `seconds_left` of the time limit (None: as is)."""
        if seconds_left is None:
            return self
        return dataclasses.replace(self, time_limit=max(seconds_left, 0.01))


DEFAULT_OPTIONS = SolveOptions()


@dataclass
class Progress:
    """What a MIP run reports while it works (for a terminal's status line)."""

    stage: str
    seconds: float
    best: float  # objective of the best plan found (inf: none yet)
    bound: float


@dataclass
class Run:
    """One solve of the backend's current model."""

    status: str  # "optimal", "time_limit" (a plan, not proven: stopped early) or "infeasible"
    x: np.ndarray | None
    objective: float
    bound: float  # the best proven lower bound on the objective
    duals: np.ndarray | None  # row duals (LPs), for the model's own rows only
    seconds: float
    reduced: np.ndarray | None = None  # column duals (reduced costs) of an LP
    nodes: int = 0  # branch-and-bound nodes searched: the work measure stop rules count


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


def backend(lp: LinearModel, solver: str = "auto", threads: int | None = None):
    """A backend holding `lp`: "auto" (HiGHS if installed), "highs", "pulp-highs" or "cbc"."""
    if solver == "auto":
        try:
            import highspy  # noqa: F401
            solver = "highs"
        except ImportError:
            solver = "cbc"
    if solver == "highs":
        return HighsBackend(lp, threads)
    if solver in ("pulp-highs", "cbc"):
        return PulpBackend(lp, solver, threads)
    raise SolverFailed(f"unknown solver {solver!r}; known: auto, highs, pulp-highs, cbc")


class HighsBackend:
    """The model inside one highspy.Highs object."""

    def __init__(self, lp: LinearModel, threads: int | None = None):
        import highspy

        self._hs = highspy
        started = time.perf_counter()
        a = lp.arrays()
        self.n_cols, self.n_rows = a["A"].shape[1], a["A"].shape[0]
        self.integer_cols = np.flatnonzero(a["integer"]).astype(np.int32)
        self.threads = threads
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = self.n_cols, self.n_rows
        model.col_cost_, model.col_lower_, model.col_upper_ = a["cost"], a["lower"], a["upper"]
        self.c = a["cost"]
        model.row_lower_, model.row_upper_ = a["row_lower"], a["row_upper"]
        matrix = a["A"]
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.num_col_, model.a_matrix_.num_row_ = self.n_cols, self.n_rows
        model.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        model.a_matrix_.index_ = matrix.indices.astype(np.int32)
        model.a_matrix_.value_ = matrix.data
        self._open(model)
        self._parked = None  # (model, basis) while lean() has freed the solver
        self._last_lp = None  # the last optimal LP's solution (values, duals): its face
        self.integer = False
        self.presolve = True  # off only to solve again what presolve got wrong (see run)
        self.handoff_seconds = time.perf_counter() - started
        self.name = f"HiGHS {self._h.version()}"

    def _open(self, model) -> None:
        """A new HiGHS holding `model`."""
        with _no_banner():
            h = self._hs.Highs()
        h.setOptionValue("output_flag", False)
        if self.threads is not None:
            # one thread scheduler serves a process's solves, started by the first; a solve
            # asking for another number of threads fails ("Not Set") unless it starts afresh
            self._hs.Highs.resetGlobalScheduler(True)
            h.setOptionValue("threads", int(self.threads))
        h.passModel(model)
        self._h = h

    @property
    def h(self):
        """The solver; after lean(), a new one from the parked model and basis."""
        if self._h is None:
            model, basis = self._parked
            self._open(model)
            self._h.setBasis(basis)
            self._parked = None
        return self._h

    def lean(self) -> None:
        """Keep the model (with its added rows and bounds) and the last basis as plain data
        and free the solver: HiGHS keeps 20 MiB of working data on an M fleet model after a
        solve, even after clearSolver. The next solve starts from that basis by simplex."""
        self._parked = (self._h.getLp(), self._h.getBasis())
        self._h = None

    @contextlib.contextmanager
    def without(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray):
        """Rows left out of solves in this block (free), then back at (lower, upper)."""
        rows = np.asarray(rows, dtype=np.int32)
        self.h.changeRowsBounds(len(rows), rows, np.full(len(rows), -INF),
                                np.full(len(rows), INF))
        try:
            yield
        finally:
            self.h.changeRowsBounds(len(rows), rows, np.asarray(lower, float),
                                    np.asarray(upper, float))

    @contextlib.contextmanager
    def optimal_face(self):
        """Solves in this block keep to the optimal face of the last optimal LP: its columns
        and rows with a nonzero dual held at their values. By complementary slackness every
        plan left has that LP's objective value, so another objective chooses among its
        optima (tier 4 among plans of least cost) with no dense row holding the first one.
        The solve starts afresh, not from the last basis: presolve then takes out all that
        is held (fleet XL: 12.1 s -> 2.8 s; from the basis, the simplex works through the
        held columns too). Yields whether it did (not without duals of an optimal LP)."""
        sol = self._last_lp
        if sol is None:
            yield False
            return
        tol = FACE_TOL * max(1.0, float(np.abs(self.c).max(initial=0.0)))
        cols = np.flatnonzero(np.abs(sol.col_dual) > tol).astype(np.int32)
        rows = np.flatnonzero(np.abs(sol.row_dual) > tol).astype(np.int32)
        h = self.h
        _, _, _, col_lower, col_upper, _ = h.getCols(len(cols), cols)
        _, _, row_lower, row_upper, _ = h.getRows(len(rows), rows)
        x, activity = np.asarray(sol.col_value)[cols], np.asarray(sol.row_value)[rows]
        h.changeColsBounds(len(cols), cols, x, x)
        h.changeRowsBounds(len(rows), rows, activity, activity)
        h.clearSolver()
        try:
            yield True
        finally:
            h.changeColsBounds(len(cols), cols, col_lower, col_upper)
            h.changeRowsBounds(len(rows), rows, row_lower, row_upper)

    def basis(self):
        """The last solve's basis, to start a later LP from (`set_basis`)."""
        return self.h.getBasis()

    def set_basis(self, basis) -> None:
        self.h.setBasis(basis)

    def set_objective(self, c: np.ndarray) -> None:
        self.c = np.asarray(c, dtype=float)
        self.h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), self.c)

    def add_row(self, coefs: np.ndarray, lower: float, upper: float) -> int:
        cols = np.flatnonzero(coefs).astype(np.int32)
        self.h.addRow(lower, upper, len(cols), cols, np.asarray(coefs, float)[cols])
        return self.h.getNumRow() - 1

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        self.h.changeRowBounds(row, lower, upper)

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.h.changeColsBounds(len(cols), cols, np.asarray(lower, float),
                                np.asarray(upper, float))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The columns' current (lower, upper) bounds."""
        lp = self.h.getLp()
        return np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)

    def set_integer(self, on: bool) -> None:
        if on == self.integer or not len(self.integer_cols):
            self.integer = on and bool(len(self.integer_cols))
            return
        kind = self._hs.HighsVarType.kInteger if on else self._hs.HighsVarType.kContinuous
        self.h.changeColsIntegrality(len(self.integer_cols), self.integer_cols,
                                     np.full(len(self.integer_cols), int(kind), dtype=np.uint8))
        self.integer = on

    def run(self, time_limit: float | None = None, gap: float = 0.0, abs_gap: float = 1e-9,
            start: np.ndarray | None = None, stage: str = "",
            progress: Callable[[Progress], None] | None = None,
            stop: Callable[[int, float, float], bool] | None = None,
            nodes: int | None = None) -> Run:
        """Solve the current model. An LP by dual simplex, from the basis at hand when
        there is one (tiers.py: an LP whose start is at or near its optimum); interior
        point was 14x slower on fleet XL once its rows were as lean as `build` makes them
        (271 s against 19 s), and 2-3x on fleet L and M. For a MIP:
        `start` is a feasible plan to improve on, `gap` the relative gap to stop at,
        `stop(nodes, best, bound)` may end it early: it counts work (nodes), never
        seconds, so that a busy machine gives the same plan; only `time_limit` is in
        seconds."""
        h = self.h
        h.setOptionValue("time_limit",
                         INF if time_limit is None else max(float(time_limit), 0.01))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("mip_abs_gap", float(abs_gap))
        h.setOptionValue("mip_max_nodes", 2**31 - 1 if nodes is None else int(nodes))
        h.setOptionValue("solver", "choose" if self.integer else "simplex")
        h.setOptionValue("presolve", "choose" if self.presolve else "off")
        if self.integer and start is not None:
            h.setSolution(self.n_cols, np.arange(self.n_cols, dtype=np.int32),
                          np.asarray(start, dtype=float))
        watch = self.integer and (progress is not None or stop is not None)
        if watch:
            self._watch(stage, progress, stop)
        started = time.perf_counter()
        try:
            h.run()
        finally:
            if watch:
                h.stopCallback(self._hs.cb.HighsCallbackType.kCallbackMipInterrupt)
                h.stopCallback(self._hs.cb.HighsCallbackType.kCallbackMipImprovingSolution)
        seconds = time.perf_counter() - started
        failed = h.getModelStatus() == self._hs.HighsModelStatus.kSolveError
        result = None if failed else self._result(seconds)
        args = (time_limit, gap, abs_gap, start, stage, progress, stop, nodes)
        # Seen with presolve on: a MIP it empties fails when its postsolved plan breaks a
        # row by 1e-6; a MIP given a start reports the optimum's objective but returns the
        # start as its plan. Either way the solve is run again without presolve.
        if (failed or not self._consistent(result)) and self.presolve:
            return self._again("presolve", args)
        return result if result is not None else self._result(seconds)

    def _again(self, setting: str, args: tuple) -> Run:
        """The same solve once more with `setting` (presolve) off."""
        setattr(self, setting, False)
        try:
            return self.run(*args)
        finally:
            setattr(self, setting, True)

    def _consistent(self, run: Run) -> bool:
        """Whether the plan returned has the objective value reported."""
        if run.x is None:
            return True
        return abs(float(self.c @ run.x) - run.objective) <= 1e-6 * max(1.0, abs(run.objective))

    def _watch(self, stage, progress, stop) -> None:
        cb = self._hs.cb.HighsCallbackType

        def callback(kind, _message, data, user_in, _user):
            out = Progress(stage, data.running_time, data.mip_primal_bound,
                           data.mip_dual_bound)
            if progress is not None:
                progress(out)
            if kind == cb.kCallbackMipInterrupt and stop is not None and \
                    stop(int(data.mip_node_count), out.best, out.bound):
                user_in.user_interrupt = True

        self.h.setCallback(callback, None)
        self.h.startCallback(cb.kCallbackMipInterrupt)
        self.h.startCallback(cb.kCallbackMipImprovingSolution)

    def _result(self, seconds: float) -> Run:
        h, S = self.h, self._hs.HighsModelStatus
        status = h.getModelStatus()
        info = h.getInfo()
        has_plan = info.primal_solution_status == 2  # feasible point
        if status in (S.kOptimal, S.kModelEmpty):
            label = "optimal"
        elif status in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt,
                        S.kSolutionLimit) and has_plan:
            label = "time_limit"
        elif status == S.kInfeasible:
            return Run("infeasible", None, INF, INF, None, seconds)
        else:
            raise SolverFailed(f"HiGHS found no plan: {h.modelStatusToString(status)}")
        sol = h.getSolution()
        x = np.asarray(sol.col_value) if self.n_cols else np.zeros(0)
        objective = float(info.objective_function_value)
        self._last_lp = sol if label == "optimal" and not self.integer and sol.dual_valid \
            else None
        if self.integer:
            return Run(label, x, objective, float(info.mip_dual_bound), None, seconds,
                       nodes=max(int(info.mip_node_count), 0))
        bound = objective if label == "optimal" else -INF
        if not sol.dual_valid:
            return Run(label, x, objective, bound, None, seconds)
        return Run(label, x, objective, bound, np.asarray(sol.row_dual)[:self.n_rows], seconds,
                   np.asarray(sol.col_dual))


class PulpBackend:
    """The same model as PuLP expressions, solved by CBC or by HiGHS through PuLP."""

    def __init__(self, lp: LinearModel, solver: str, threads: int | None = None):
        import pulp

        self._pulp = pulp
        started = time.perf_counter()
        a = lp.arrays()
        self.n_cols, self.n_rows = a["A"].shape[1], a["A"].shape[0]
        self.integer_cols = np.flatnonzero(a["integer"])
        self.solver, self.threads = solver, threads
        self.prob = pulp.LpProblem("plan", pulp.LpMinimize)
        self.xs = [self.prob.add_variable(f"x{j}", lowBound=0,
                                          upBound=None if np.isinf(u) else u)
                   for j, u in enumerate(a["upper"])]
        csr = a["A"].tocsr()
        self.rows = []
        for r in range(self.n_rows):
            cols = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
            vals = csr.data[csr.indptr[r]:csr.indptr[r + 1]]
            self.rows.append(self._constrain(r, dict(zip(cols, vals)), a["row_lower"][r],
                                             a["row_upper"][r]))
        self.integer = False
        self.handoff_seconds = time.perf_counter() - started
        self.name = ("CBC" if solver == "cbc" else "HiGHS") + " via PuLP"

    def _constrain(self, r: int, coefs: dict, lower: float, upper: float):
        """Row r as one PuLP constraint (equality, >= or <=); a ranged row as two."""
        pulp = self._pulp
        expr = pulp.LpAffineExpression([(self.xs[j], v) for j, v in coefs.items()])
        made = []
        if lower == upper:
            made.append(pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{r}", lower))
        else:
            if np.isfinite(lower):
                made.append(pulp.LpConstraint(expr, pulp.LpConstraintGE, f"r{r}l", lower))
            if np.isfinite(upper):
                made.append(pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{r}u", upper))
        for c in made:
            self.prob += c
        return made

    def without(self, rows, lower, upper):
        """Rows kept (PuLP rebuilds nothing in place): the same optimum, more slowly."""
        return contextlib.nullcontext()

    def optimal_face(self):
        """No duals to fix a face by: yields False (hold the last objective instead)."""
        return contextlib.nullcontext(False)

    def basis(self) -> None:
        return None

    def set_basis(self, basis) -> None:
        """Nothing to start from (see `simplex`)."""

    def set_objective(self, c: np.ndarray) -> None:
        self.prob.setObjective(self._pulp.LpAffineExpression(
            [(self.xs[j], float(c[j])) for j in np.flatnonzero(c)]))

    def add_row(self, coefs: np.ndarray, lower: float, upper: float) -> int:
        """A row `coefs x <= upper` whose bound may change (the tiers' holding rows)."""
        r = len(self.rows)
        self.rows.append(self._constrain(r, {j: coefs[j] for j in np.flatnonzero(coefs)},
                                         -INF, HUGE if np.isinf(upper) else upper))
        return r

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        (made,) = self.rows[row]
        made.constant = -(HUGE if np.isinf(upper) else upper)

    def set_bounds(self, cols, lower, upper) -> None:
        for j, lo, hi in zip(cols, lower, upper):
            self.xs[j].lowBound, self.xs[j].upBound = lo, (None if np.isinf(hi) else hi)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower = np.array([v.lowBound if v.lowBound is not None else -INF for v in self.xs])
        upper = np.array([v.upBound if v.upBound is not None else INF for v in self.xs])
        return lower, upper

    def set_integer(self, on: bool) -> None:
        cat = self._pulp.LpInteger if on else self._pulp.LpContinuous
        for j in self.integer_cols:
            self.xs[j].cat = cat
        self.integer = on and bool(len(self.integer_cols))

    def run(self, time_limit: float | None = None, gap: float = 0.0, abs_gap: float = 1e-9,
            start: np.ndarray | None = None, stage: str = "", progress=None,
            stop=None, nodes: int | None = None) -> Run:
        pulp = self._pulp
        if start is not None and self.integer:
            for v, value in zip(self.xs, start):
                low = v.lowBound if v.lowBound is not None else -INF
                high = v.upBound if v.upBound is not None else INF
                v.setInitialValue(min(max(float(value), low), high))
        options = {"msg": False, "timeLimit": time_limit, "gapRel": gap,
                   "warmStart": start is not None and self.integer}
        cls = pulp.PULP_CBC_CMD if self.solver == "cbc" else pulp.HiGHS
        started = time.perf_counter()
        with _no_banner(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.3 on its CBC
            self.prob.solve(cls(threads=self.threads, **options))
        seconds = time.perf_counter() - started
        status = pulp.LpStatus[self.prob.status]
        if status == "Infeasible":
            return Run("infeasible", None, INF, INF, None, seconds)
        x = np.array([v.varValue if v.varValue is not None else np.nan for v in self.xs])
        if status != "Optimal" or np.isnan(x).any():
            raise SolverFailed(f"{self.name} found no plan: {status}")
        # PuLP says "Optimal" for an incumbent found before the time limit too
        proven = self.prob.sol_status == pulp.LpSolutionOptimal
        objective = float(pulp.value(self.prob.objective) or 0.0)
        bound = objective * (1 - gap) if self.integer else objective
        return Run("optimal" if proven else "time_limit", x, objective,
                   bound if proven else -INF, None, seconds)
