"""The lexicographic solve of spec section 4, exact in each tier also with whole instances.

Tiers: (1) least unmet tokens/s, (2) least unprotected tokens/s, (3) least cost (USD),
(4) least round trip x tokens/s served. Each tier is solved with the ones before it held
at their optimum by an extra row `tier value <= optimum (+ a hair)`; no penalty weighs one
tier against another, so a MIP gap is always a gap in one tier's own units, and the cost
gap is in dollars.

1. LP relaxation, tier by tier - in one LP when a penalty on tiers 1-2 leaves them at zero
   (which proves them); tier 4 then as an LP on the cost LP's optimal face, so cost does not
   move. For `integer: false` this is the plan.
2. A whole-instance start: the LP plan's instances rounded up. Rounding up never changes
   serving, so unmet and unprotected demand stay at their LP optimum (which proves tiers 1
   and 2) unless rounding breaks a limit or the budget; then the instances in the broken
   rows are fixed down and the LP re-solved for the rest (relax and fix).
3. Whole instances, month by month. Every constraint of section 4 lives in one month; only
   commitments (and held tier totals, below) tie months together. With the commitments fixed, each month is a small MILP
   of its own (the rest of the plan fixed), and the sum of the months' optima is the
   optimum: a year of interchangeable months is never one search tree. Without commitments,
   and with nothing unmet or unprotected, that is the exact answer. With commitments, a lower
   bound comes from the same months with each commitment held one month at a time (a
   relaxation); unmet or unprotected totals held above zero tie the months too (they could
   trade the hold's hair of slack). When the bound is not close enough the whole model runs
   as one MILP from the plan so far, whose better commitments are then polished month by
   month again. A MILP left with no plan because counts are whole only within HiGHS's
   tolerance (a plan's serving leaning on 1.0000004 instances) gets its purchases served
   afresh and searches again.
4. Tier 4 with whole instances: after each month's cost MILP, a short MILP of round trips
   with that cost held (equal-price regions: the nearer), by a node limit so that a busy
   machine gives the same plan; a MILP plan replaces its start only when strictly better
   in its tier. Last, serving re-optimised with the purchases fixed.
Searches stop at DEFAULT_GAP (or the gap asked for, with the same work budget), or after
the PATIENCE work at its gaps; work is counted in branch-and-bound nodes, never seconds, so
the same scenario gives the same plan on any machine, busy or not. "optimal" means proven
within PROVEN (or the gap asked for); "not_proven" that the search budget ended first;
"time_limit" only that the user's time limit did. A time limit returns the best plan found,
never worse than the rounded start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from planner.model.build import TIERS, PlanModel
from planner.model.solver import INF, Progress, Run, SolverFailed, backend

DEFAULT_GAP = 1e-6  # relative cost gap a solve stops at, or past these nodes at these
PATIENCE = ((1000, 1e-5), (4000, 1e-4), (12000, 5e-4),  # gaps (spread over the months, so
            (48000, INF))  # they add up to at most the gap); a plan this close to its bound
#                            is not searched
ENOUGH = 1e-4  # as one MILP, nor is one whose months took more than FOLLOW_UP nodes
FOLLOW_UP = 4000
PROVEN = 1e-3  # a plan within this of its bound (or of the gap asked for) is "optimal"
BOUND_PATIENCE = ((0, PROVEN / 4), (48000, INF))  # a bound close enough to prove is enough
SHORTCUT = 1e6  # USD per token/s-month unmet or unprotected in the one-LP first try
NEAREST_NODES = 500  # branch-and-bound nodes for the nearest regions at equal cost, a month


def hold_tol(value: float) -> float:
    """Slack on a held tier: solver tolerances, never a whole unit of anything."""
    return 1e-7 * max(1.0, abs(value))


@dataclass
class Solution:
    status: str  # "optimal" (every tier proven within the gap), "not_proven" or "time_limit"
    x: np.ndarray
    solver: str
    seconds: float  # inside the solver, all stages
    gap: float  # (cost - bound) / cost, on the cost tier
    bound: float  # proven lower bound on cost, USD
    duals: dict[str, np.ndarray]  # row duals of the LP relaxation, per tier
    relaxed: bool  # True when the plan is whole instances and the duals are its relaxation's
    handoff_seconds: float = 0.0
    stages: list[dict] = field(default_factory=list)
    trace: list[tuple[float, float, float]] = field(default_factory=list)  # s, cost, bound


class _Deadline:
    def __init__(self, seconds: float | None):
        self.end = INF if seconds is None else time.perf_counter() + seconds

    def left(self) -> float | None:
        return None if self.end == INF else max(self.end - time.perf_counter(), 0.0)

    @property
    def over(self) -> bool:
        return time.perf_counter() >= self.end


class Lexicographic:
    """One backend holding the model, asked tier by tier."""

    def __init__(self, pm: PlanModel, solver: str = "auto", threads: int | None = None,
                 deadline: _Deadline | None = None,
                 progress: Callable[[Progress], None] | None = None):
        self.pm, self.solver, self.threads = pm, solver, threads
        self.tie_break = True  # tier 4: off where only a bound on cost is wanted
        self.reduced: np.ndarray | None = None
        self.be = backend(pm.lp, solver, threads)
        self.implied = pm.implied_rows()  # left out of LPs: MILPs need them, LPs do not
        self.implied_bounds = tuple(b[self.implied] for b in pm.lp.row_bounds)
        self.c = {t: pm.objective(t) for t in (*TIERS, "rtt")}
        self.rows = {t: self.be.add_row(self.c[t], -INF, INF) for t in TIERS
                     if self.c[t].any()}
        self.lower, self.upper = np.zeros(pm.lp.n_cols), pm.lp.upper.copy()
        self.block, self.block_labels = pm.column_blocks()
        self.coupled = bool((self.block < 0).any())
        self.deadline = deadline or _Deadline(None)
        self.progress = progress
        self.stages: list[dict] = []
        self.trace: list[tuple[float, float, float]] = []
        self.started = time.perf_counter()
        self.nodes = 0  # branch-and-bound nodes searched so far: the work stop rules count
        self._built: dict | None = None  # the model's arrays (`_arrays`)
        self.paid = pm.paid_cost  # in total cost but in no column (signed contracts):
        #                           gaps are relative to the total cost

    def value(self, tier: str, x: np.ndarray) -> float:
        return float(self.c[tier] @ x)

    def hold(self, tier: str, value: float | None, tight: bool = False) -> None:
        """Keep `tier` at most `value` in later solves (None: release it); `tight` for the
        cost under the round-trip LP, which must not buy anything with the slack."""
        if tier in self.rows:
            slack = 0.0 if value is None else hold_tol(value) / (100 if tight else 1)
            self.be.set_row_bounds(self.rows[tier], -INF, INF if value is None else value + slack)

    def _run(self, stage: str, objective: np.ndarray, **kw) -> Run:
        """Solve with `objective`; LPs always run to the end, MILPs until the deadline."""
        self.be.set_objective(objective)
        limit = self.deadline.left() if self.be.integer else None
        run = self.be.run(time_limit=limit, stage=stage, progress=self._progress, **kw)
        self.nodes += run.nodes
        self.stages.append({"stage": stage, "status": run.status,
                            "seconds": round(run.seconds, 3), "nodes": run.nodes})
        if run.status == "infeasible":
            raise SolverFailed(f"{stage}: the model has no plan (infeasible)")
        return run

    def _progress(self, p: Progress) -> None:
        if self.progress is not None:
            self.progress(p)

    def note(self, cost: float, bound: float) -> None:
        """Record the cost tier's course (for time-to-gap figures)."""
        self.trace.append((round(time.perf_counter() - self.started, 3), cost, bound))

    # --- LP relaxation ---------------------------------------------------------------

    def lp(self, label: str = "LP", nearest: bool = True
           ) -> tuple[np.ndarray, dict[str, float], dict]:
        """Tiers 1-3 then (if `nearest`) round trips as LPs, each held for the next. First
        one LP of cost plus SHORTCUT x (unmet + unprotected): when it leaves nothing unmet
        or unprotected, tiers 1-2 are at their least (zero) and its cost is tier 3's
        optimum, so the tiers take one LP instead of three. The rest start from a basis:
        tiers 1-2 from the last one's, the cost from the first LP's (it weighed cost, and
        the tiers it weighed are now held), each at or near its optimum (fleet L: 11.8 s ->
        3.9 s; XL: 456 s -> 233 s, when the first LP was by interior point); round trips
        afresh on the cost LP's optimal face (`_nearest_lp`)."""
        self.be.set_integer(False)
        with self.be.without(self.implied, *self.implied_bounds):
            return self._lp(label, nearest)

    def _lp(self, label: str, nearest: bool) -> tuple[np.ndarray, dict[str, float], dict]:
        values, duals = {}, {}
        for tier in TIERS:
            self.hold(tier, None)
        short = [t for t in ("unmet", "unprotected") if t in self.rows]
        run = self._run(f"{label} cost (shortcut)",
                        self.c["cost"] + SHORTCUT * sum(self.c[t] for t in short))
        if all(self.value(t, run.x) <= hold_tol(0.0) for t in short):
            values = {"unmet": 0.0, "unprotected": 0.0, "cost": self.value("cost", run.x)}
            duals, self.reduced = {"cost": run.duals}, run.reduced
            for tier in TIERS:
                self.hold(tier, values[tier], tight=tier == "cost")
            return self._nearest_lp(label) if nearest else run.x, values, duals
        weighed = self.be.basis()
        for tier in TIERS:
            if tier not in self.rows:
                values[tier] = 0.0
                continue
            if tier == "cost":
                self.be.set_basis(weighed)
            run = self._run(f"{label} {tier}", self.c[tier])
            values[tier], duals[tier] = run.objective, run.duals
            if tier == "cost":  # d(least cost)/d(a column's value), tiers 1-2 held
                self.reduced = run.reduced
            self.hold(tier, run.objective, tight=tier == "cost")
        return self._nearest_lp(label) if nearest else run.x, values, duals

    def _nearest_lp(self, label: str) -> np.ndarray:
        """Tier 4 as an LP: least round trips among the plans of least cost, tiers 1-2 held.
        Those plans are the optimal face of the LP just solved (the backend fixes what has
        a nonzero dual), so no row holds the cost: that dense row made this LP 4x slower
        (45 s on 20 futures of the M fleet); a weight on round trips instead moved the cost
        and took 188 s from the cost LP's basis on fleet XL, the face 53 s. Backends without
        duals hold the cost instead."""
        with self.be.optimal_face() as on_face:
            if on_face:
                self.hold("cost", None)
            return self._run(f"{label} round trips", self.c["rtt"]).x

    # --- whole instances -------------------------------------------------------------

    def whole_start(self, x: np.ndarray) -> np.ndarray:
        """Round the LP plan's instances up; relax-and-fix where that breaks a limit or
        the budget; more on-demand (or spot) instances where its replicas rounded up need
        them and no limit or the budget breaks; the replicas up where the instances have
        room, else down; then the best serving of them."""
        buy, rep = self.pm.buy_ids, self.pm.rep_ids
        rows = self._capped_rows()
        free = np.ones(len(buy), dtype=bool)
        value = np.zeros(len(buy))
        for _ in range(3):
            up = np.where(free, np.ceil(x[buy] - 1e-6), value)
            bad = self._breaks(rows, up) & free
            value = np.where(free & ~bad, up, value)
            free &= bad
            if not free.any():
                break
            self.be.set_bounds(buy[~free], value[~free], value[~free])
            x, _, _ = self.lp("repair LP", nearest=False)
        value = np.where(free, np.floor(x[buy] + 1e-6), value)  # still breaking: round down
        value = self._cover(value, np.ceil(x[rep] - 1e-6), rows)
        return self.serve(np.concatenate([value, self._fit(value, x[rep])]))

    def _supply(self):
        """(chips held per supply row from signed contracts, instances' chips per row and
        instance column, replica chips per row and replica column); None without rows."""
        supply = [b.ids for n, b in self.pm.lp.constraints.items()
                  if n.split("@")[0] == "supply"]
        if not supply:
            return None
        a = self._arrays()
        matrix = a["A"].tocsr()[np.concatenate(supply)]
        return (a["row_upper"][np.concatenate(supply)], -matrix[:, self.pm.buy_ids].tocsr(),
                matrix[:, self.pm.rep_ids].tocsr())

    def _cover(self, instances: np.ndarray, replicas: np.ndarray, capped) -> np.ndarray:
        """`instances` plus the cheapest one-month instances (on-demand, or spot) of each
        holder whose `replicas` need more chips, where no limit or budget row breaks."""
        supply = self._supply()
        if supply is None:
            return instances
        signed, chips, sizes = supply
        short = sizes @ replicas - signed - chips @ instances
        monthly = np.diff(chips.tocsc().indptr) == 1  # one-month purchases: one supply row
        buy = self.pm.buy_ids
        price = self.c["cost"][buy]
        out = instances.copy()
        for r in np.flatnonzero(short > 1e-6):
            cols = chips.indices[chips.indptr[r]:chips.indptr[r + 1]]
            per = chips.data[chips.indptr[r]:chips.indptr[r + 1]]
            ok = monthly[cols] & (self.lower[buy][cols] < self.upper[buy][cols])
            if not ok.any():
                continue
            i = np.flatnonzero(ok)[np.argmin((price[cols] / per)[ok])]
            more = out.copy()
            more[cols[i]] += np.ceil(short[r] / per[i] - 1e-9)
            if not self._breaks(capped, more)[cols[i]]:
                out = more
        return out

    def _fit(self, instances: np.ndarray, replicas: np.ndarray) -> np.ndarray:
        """Whole `replicas` on whole `instances`: each rounded up where its holder has the
        chips; else the holder's chips go first to whole replicas rounded down, then one
        more each, largest fraction first, while they last."""
        supply = self._supply()
        if supply is None:
            return replicas
        signed, chips, sizes = supply
        held = signed + chips @ instances
        up, down = np.ceil(replicas - 1e-6), np.floor(replicas + 1e-6)
        for r in np.flatnonzero(sizes @ up > held + 1e-6):
            cols = sizes.indices[sizes.indptr[r]:sizes.indptr[r + 1]]
            size = sizes.data[sizes.indptr[r]:sizes.indptr[r + 1]]
            room = held[r]
            for i in np.argsort(-down[cols], kind="stable"):  # whole ones, largest first
                up[cols[i]] = min(down[cols[i]], np.floor(room / size[i] + 1e-9))
                room -= up[cols[i]] * size[i]
            for i in np.argsort(down[cols] - replicas[cols], kind="stable"):
                if up[cols[i]] < replicas[cols[i]] - 1e-6 and size[i] <= room + 1e-6:
                    up[cols[i]] += 1
                    room -= size[i]
        return up

    def serve(self, whole: np.ndarray) -> np.ndarray:
        """The lexicographic best serving (unmet, unprotected, round trips) of fixed
        purchases and replicas (`whole`, in the order of `pm.whole_ids`); cost is fixed
        with them."""
        ids = self.pm.whole_ids
        self.be.set_bounds(ids, whole, whole)
        x, _, _ = self.lp("serving LP")
        self.be.set_bounds(ids, self.lower[ids], self.upper[ids])
        x[ids] = whole
        for tier in TIERS:
            self.hold(tier, None)
        return x

    def _capped_rows(self):
        """Limit and budget rows: the only rows rounding instances up can break."""
        a = self._arrays()
        ids = self.pm.capped_rows()
        return a["A"].tocsr()[ids][:, self.pm.buy_ids], a["row_upper"][ids]

    def _arrays(self) -> dict:
        """The model's arrays, built once (the model does not change once handed over)."""
        if self._built is None:
            self._built = self.pm.lp.arrays()
        return self._built

    def fix(self, cols: np.ndarray, values: np.ndarray) -> None:
        """Hold columns at values for every later solve (a first stage decided elsewhere)."""
        self.lower[cols] = self.upper[cols] = values
        self.be.set_bounds(cols, values, values)

    @staticmethod
    def _breaks(rows, instances: np.ndarray) -> np.ndarray:
        """Which instance columns lie in a limit or budget row that `instances` break."""
        matrix, upper = rows
        if not len(upper):
            return np.zeros(len(instances), dtype=bool)
        over = matrix @ instances > upper + 1e-6 * np.maximum(1, np.abs(upper))
        return np.asarray(abs(matrix[over]).sum(axis=0)).ravel() != 0

    def milp(self, tier: str, x: np.ndarray, gap: float, stage: str, **kw) -> tuple[
            np.ndarray, float, bool]:
        """One MILP of `tier` from plan `x`: (the better plan, objective - bound, proven).
        A plan only as good as `x` does not replace it: `x` came from the LP that served
        from the nearest regions (tier 4), the MILP's equal-cost plans did not."""
        self.be.set_integer(True)
        try:
            try:
                run = self._run(stage, self.c[tier], gap=gap, start=x, **kw)
            except SolverFailed:
                # HiGHS takes whole counts within 1e-6: a plan whose serving leaned on
                # that hair, rounded and held fixed or held in a tier, can leave the next
                # search with no plan. Its purchases are served afresh, then searched again.
                x = self._settle(tier, x)
                run = self._run(stage, self.c[tier], gap=gap, start=x, **kw)
        finally:
            self.be.set_integer(False)
        now = self.value(tier, x)
        if self.value(tier, run.x) >= now - 1e-9 * abs(now) - 1e-9:
            return x, max(run.objective - run.bound, 0.0), run.status == "optimal"
        better = run.x.copy()
        whole = self.pm.whole_ids
        better[whole] = np.round(better[whole])  # whole, not 0.9999999
        return better, max(run.objective - run.bound, 0.0), run.status == "optimal"

    def by_month(self, tier: str, x: np.ndarray, gap: float, abs_gap: float = 1e-9,
                 patience=PATIENCE) -> tuple[np.ndarray, float, bool]:
        """Improve `tier` one block (a month; a month of one future) at a time with the rest
        of the plan (commitments included) fixed: (plan, summed objective - bound, every
        block proven)."""
        cols = np.arange(len(self.block), dtype=np.int32)
        slack, proven = 0.0, True
        labels = self.block_labels
        for t, label in enumerate(labels):
            if self.deadline.over:  # a block not searched has no bound
                slack, proven = INF, False
                break
            free = self.block == t
            self.be.set_bounds(cols, np.where(free, self.lower, x),
                               np.where(free, self.upper, x))
            x, s, ok = self.milp(tier, x, gap / len(labels), f"MILP {tier} {label}",
                                 abs_gap=abs_gap,
                                 stop=_stop_rule(patience, 1 / len(labels), paid=self.paid))
            slack, proven = slack + s, proven and ok
            if tier == "cost" and self.tie_break:
                x = self.nearest(x, label)
        self.be.set_bounds(cols, self.lower, self.upper)
        return x, slack, proven

    def _settle(self, tier: str, x: np.ndarray) -> np.ndarray:
        """`x`'s purchases, whole, with their best serving: the tiers re-solved as LPs with
        the purchases fixed and held at what these purchases reach; `tier` and the tiers
        after it released again. Columns that were fixed are fixed at the new plan."""
        lower, upper = self.be.bounds()
        fixed = lower == upper
        buy, cols = self.pm.whole_ids, np.arange(len(x), dtype=np.int32)
        bought = np.round(x[buy])
        self.be.set_integer(False)
        self.be.set_bounds(cols, self.lower, self.upper)
        self.be.set_bounds(buy, bought, bought)
        x, _, _ = self.lp("settle LP", nearest=False)
        x[buy] = bought
        for t in TIERS[TIERS.index(tier):] if tier in TIERS else ():
            self.hold(t, None)
        self.be.set_bounds(cols, np.where(fixed, x, lower), np.where(fixed, x, upper))
        self.be.set_integer(True)
        return x

    def nearest(self, x: np.ndarray, month: str) -> np.ndarray:
        """Tier 4 for one month: at no more cost, the purchases and serving with the least
        round trip x tokens/s (equal-price regions: the nearer one). A short search, by
        nodes rather than seconds so that a busy machine gives the same plan."""
        self.hold("cost", self.value("cost", x))
        try:
            x, _, _ = self.milp("rtt", x, 1e-4, f"MILP rtt {month}", nodes=NEAREST_NODES)
        finally:
            self.hold("cost", None)
        return x

    def whole(self, tier: str, x: np.ndarray, gap: float, abs_gap: float = 1e-9,
              patience=PATIENCE, offset: float = 0.0, lower: float = -INF) -> tuple[
            np.ndarray, float, bool]:
        """One MILP of the whole model; it stops within `gap` of its bound or of `lower`
        (a bound on `tier` proven before it)."""
        return self.milp(tier, x, gap, f"MILP {tier}", abs_gap=abs_gap,
                         stop=_stop_rule(patience, offset=offset, paid=self.paid,
                                         lower=lower, gap=gap))


def solve_tiers(pm: PlanModel, solver: str = "auto", time_limit: float | None = None,
                gap: float | None = None, threads: int | None = None,
                progress: Callable[[Progress], None] | None = None,
                deadline: _Deadline | None = None, tie_break: bool = True,
                fix: tuple[np.ndarray, np.ndarray] | None = None,
                patience=PATIENCE, floor: float = -INF) -> Solution:
    """The plan of spec section 4 (section 6 for whole instances): see the module doc.
    Without `tie_break`, tier 4 is skipped (for a bound on cost only); `fix` holds
    (columns, values) decided elsewhere (a first stage); `floor` is a bound on cost proven
    elsewhere for plans that leave nothing unmet or unprotected (futures: each known in
    advance), used when this one leaves nothing."""
    deadline = deadline or _Deadline(time_limit)
    lex = Lexicographic(pm, solver, threads, deadline, progress)
    lex.tie_break = tie_break
    if fix is not None:
        lex.fix(*fix)
    # the nearest regions at that cost: the plan when fractional, else the start to round up
    # (serving in fewer pools wastes less) and the bound
    x, lp_values, duals = lex.lp(nearest=tie_break)
    if not pm.scenario.integer:  # bound: the cost LP; the tie-break moved cost within it
        return _solution(lex, "optimal", x, lp_values["cost"], duals, relaxed=False)

    x = lex.whole_start(x)
    proven, bound_ok = True, True
    for tier in ("unmet", "unprotected"):
        if deadline.over:
            proven = False
            break
        value = lex.value(tier, x)
        # a held tier may sit a hair above its optimum (hold_tol): twice that is reached
        if value > 2 * hold_tol(0.0) and not (
                bound_ok and value <= lp_values[tier] + 2 * hold_tol(lp_values[tier])):
            improve = lex.whole if lex.coupled else lex.by_month
            x, _, ok = improve(tier, x, gap=0.0, abs_gap=1e-6,
                               patience=patience)
            proven &= ok
            bound_ok = False
        lex.hold(tier, lex.value(tier, x))

    lower = lp_values["cost"] if bound_ok else -INF
    if max(lex.value("unmet", x), lex.value("unprotected", x)) <= 2 * hold_tol(0.0):
        lower = max(lower, floor)
    # tiers 1-2 at zero, or at their LP optimum: then every month is at its own least
    # unmet and unprotected (the LP's months add up to it), so no month can trade them with
    # another and the months' cost bounds add up to a bound
    settled = bound_ok or max(lex.value("unmet", x), lex.value("unprotected", x)) <= \
        2 * hold_tol(0.0)
    x, lower = _least_cost(lex, x, lower, gap, patience, settled)
    proven &= not _open(lex.value("cost", x), lower, PROVEN if gap is None else gap, lex.paid)
    x = lex.serve(np.round(x[pm.whole_ids]))
    return _solution(lex, "optimal" if proven else unproven(deadline), x, lower, duals,
                     relaxed=True)


def unproven(deadline: _Deadline) -> str:
    """Why a plan is not proven: the user's time limit, or the search budget."""
    return "time_limit" if deadline.over else "not_proven"


def _least_cost(lex: Lexicographic, x: np.ndarray, lower: float, gap: float | None,
                patience, settled: bool) -> tuple[np.ndarray, float]:
    """Tier 3 with whole instances (tiers 1-2 held): month by month; with commitments, a
    monthly-commitment bound; when months are tied (commitments, or unmet or unprotected
    totals not `settled` month by month, which months could trade) and early enough, one
    whole MILP. Returns (plan, bound)."""
    target = DEFAULT_GAP if gap is None else gap
    enough = ENOUGH if gap is None else gap
    started = lex.nodes

    def early() -> bool:
        return not lex.deadline.over and lex.nodes - started < FOLLOW_UP

    lex.note(lex.value("cost", x), lower)
    if gap is not None and not _open(lex.value("cost", x), lower, gap, lex.paid):
        return x, lower  # the whole start is as close as asked (fleet L-milp, 1 %: 31 s)
    x, slack, _ = lex.by_month("cost", x, target, patience=patience)
    cost = lex.value("cost", x)
    apart = not lex.coupled and settled
    if apart:
        lower = max(lower, cost - slack)
    elif _open(cost, lower, enough, lex.paid) and settled and not lex.deadline.over:
        lower = max(lower, _monthly_bound(lex.pm, lex, x, gap))
    lex.note(cost, lower)
    if not apart and _open(cost, lower, enough, lex.paid) and early():
        before = x
        # with a gap asked for the months stop sooner, so the whole MILP runs more often:
        # it then gets FOLLOW_UP nodes, no more than the default search would let it start
        x, slack, _ = lex.whole("cost", x, target,
                                patience=patience if gap is None else ((FOLLOW_UP, INF),),
                                offset=lex.nodes - started, lower=lower)
        lower = max(lower, lex.value("cost", x) - slack)
        lex.note(lex.value("cost", x), lower)
        if x is not before and not lex.deadline.over:  # new commitments: polish the months
            x, _, _ = lex.by_month("cost", x, target, patience=patience)
            lex.note(lex.value("cost", x), lower)
    return x, lower


def _open(cost: float, lower: float, gap: float, paid: float = 0.0) -> bool:
    """Whether `cost` is more than `gap` of the total cost (`paid` added) above `lower`."""
    return cost - lower > gap * max(cost + paid, 1e-9) + 1e-6


def _monthly_bound(pm: PlanModel, lex: Lexicographic, x: np.ndarray,
                   gap: float | None) -> float:
    """A lower bound on cost: the same months with each commitment held and paid one month
    at a time, so that no month depends on another. Valid when tiers 1-2 are settled month
    by month in `x` and the relaxation leaves as much unmet and unprotected as `x` (with
    less, its least cost would be at other tier values)."""
    relaxed = pm.relaxation()
    if relaxed is None:
        return -INF
    # a bound, not a plan: its own gap is a quarter of the one asked for, as with PROVEN
    sol = solve_tiers(relaxed, lex.solver, threads=lex.threads,
                      gap=None if gap is None else gap / 4, deadline=lex.deadline,
                      tie_break=False, patience=BOUND_PATIENCE)
    lex.stages += [{**s, "stage": "bound: " + s["stage"]} for s in sol.stages]
    for tier in ("unmet", "unprotected"):
        held = lex.value(tier, x)
        if float(relaxed.objective(tier) @ sol.x) < held - 2 * hold_tol(held) - 1e-6:
            return -INF
    return sol.bound


def _stop_rule(patience, share: float = 1.0, offset: int = 0, paid: float = 0.0,
               lower: float = -INF, gap: float = 0.0):
    """Stop a MILP past `after` nodes (counted from `offset` before it started) once its
    gap is at most `enough`, both times `share`: one month of T gets 1/T of the work and
    of the gap; gaps are relative to the whole plan's objective, so the months' gaps add
    up to at most `enough`. Its bound is at least `lower` (proven before it), and within
    `gap` of that it stops too."""
    if not patience and lower == -INF:
        return None

    def stop(nodes: int, best: float, bound: float) -> bool:
        now = (best - max(bound, lower)) / max(abs(best + paid), 1e-9)
        if lower > bound and now <= gap:  # `lower` proves what its own bound does not yet
            return True
        return any(offset + nodes >= after * share and now <= enough * share
                   for after, enough in patience)
    return stop


def _solution(lex: Lexicographic, status: str, x: np.ndarray, bound: float, duals: dict,
              relaxed: bool) -> Solution:
    cost = lex.value("cost", x)
    bound = min(bound, cost)
    gap = (cost - bound) / (cost + lex.paid) if cost + lex.paid > 0 else 0.0
    return Solution(status, x, lex.be.name, sum(s["seconds"] for s in lex.stages), gap,
                    bound, duals, relaxed, lex.be.handoff_seconds, lex.stages, lex.trace)
