"""The optimisation model of spec section 4 (v3), one function per constraint family.

A plan holds replicas: one copy of a workload's model on `size` whole chips of one instance
(spec section 4, operating points). Chips are held by holders g: an offering's instances
bought as commitments or on-demand (they share the offering's replicas), the same offering's
spot instances, or a signed contract's pool of chips (no instances: replicas of any size use
it in aggregate). Every plan of the spec's per-kind replicas is a
plan here at the same cost and back: each kind's chips are whole instances of the offering,
every replica size divides the instance, so replicas pack the instances largest first and
the report places them, instance by instance, in fill order (commitments, on-demand).

Sets: operating points p = (workload w, holder g, throughput row r) with replica size s_p
and tokens/s per chip tp_p, usable only where s_p divides g's chips per instance; serving
options o = (w, market m, p) where r meets the SLO at m's round trip; months t; purchase
classes h = (offering, kind k in {on-demand, spot, commit-L}), each in one holder.
Variables (all >= 0):
  serve[o, t]   chips of point p's replicas serving (w, m) in month t
  rep[p, t]     replicas of point p held in month t, whole numbers (whole instances only:
                a fractional replica is chips, rep[p, t] = sum_{o of p} serve[o, t] / s_p,
                so the replicas rows fold into supply; `PlanModel.replicas`)
  buy[h, t]     instances of class h bought in month t (on-demand and spot last one month,
                commit-L lasts L months, paid also after the horizon); integer if asked
  unmet[w,m,t]  tokens/s of demand left unserved
  unprot[w,m,p,t]  tokens/s that would be lost beyond the kept share if p failed
held[h, t] = sum of buy[h, t'] over t - L_h < t' <= t (L_h = 1 for on-demand and spot).

Objectives, minimised in this order, each tier held at its optimum for the next (tiers.py):
  unmet        sum unmet[w,m,t]
  unprotected  sum unprot[w,m,p,t]
  cost         sum_{h,t} buy[h,t] chips_h price_h sum_{u=t}^{t+L_h-1} hours_u
  rtt          sum_{o,t} rtt_o tp_o serve[o,t]  (serve from the nearest region at equal cost)
               + 0.01 (sum_o tp_o serve[o,t] + sum_p tp_w s_p rep[p,t])  (tp_w: the best
               tp of w's points; of equal plans, the one with fewest chips in replicas;
               fractional: s_p rep[p,t] is sum_{o of p} serve[o,t])
Constraints:
  demand       util_w sum_o tp_o serve[o,t] + unmet[w,m,t] >= D[w,m,t]
  replicas     sum_{o of p} serve[o,t] - s_p rep[p,t] <= 0  (whole instances)
  supply       sum_{p in g} s_p rep[p,t] - sum_{h in g} chips_h held[h,t] <= signed chips of g
               (fractional: sum_{o in g} serve[o,t] in place of the replicas' chips)
  limits       sum_{h in group, of kind} chips_h held[h,t] <= chips - signed chips in group
  max_share    sum_{o of p} tp_o serve[o,t] <= share_p sum_o tp_o serve[o,t]
  spot         sum_{o of w, spot} tp_o serve[o,t] <= spot_w sum_{o of w} tp_o serve[o,t]
  resilience   sum_{o of (w,m) not at p} tp_o serve[o,t] + unprot[w,m,p,t]
                 >= keep (D[w,m,t] - unmet[w,m,t])  (spot counts only with count_spot)
  budget       sum_h chips_h price_h hours_t held[h,t] <= monthly_max - contract cost_t
Signed contracts are a constant: their cost is reported, not optimized.

Pruned before building, each a plan-for-plan swap at no more cost: a row whose replicas
another row of the same (workload, site) beats (its size divides, at least the tokens/s per
chip, no slower first token); a class whose instance another class of the same site and kind
divides at no higher price per chip, when every replica the larger hosts fits the smaller;
with fractional replicas, a serving option no plan of the tiers can use: a slower row of
the same holder, or a dearer one-month holder of the same provider (`_undominated_options`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.model.linear import LinearModel
from planner.model.serving import PAIR, SITE, operating_points, priced_offerings
from planner.scenario.kinds import CONTRACT, SPOT, kind_of, purchase_kinds
from planner.scenario.read import Scenario, contract_months, month_hours

TIERS = ("unmet", "unprotected", "cost")
HOLDER = [*SITE, "instance", "spot"]  # instance "" for a signed contract's pool
ROW = ["row", "measured_model", "ttft_ms", "tpot_ms", "latency_stat", "precision"]


@dataclass
class PlanModel:
    """The linear program and the tables that say what its variables stand for."""

    scenario: Scenario
    lp: LinearModel
    holders: pd.DataFrame  # holders g: HOLDER, chips (per instance; 0 for a contract)
    points: pd.DataFrame  # operating points p: workload, holder, size, tp, ROW, SITE, spot
    options: pd.DataFrame  # serving options o: workload, market, pair, point, holder,
    #                        SITE, spot, rtt_ms, tp
    classes: pd.DataFrame  # purchase classes h: provider, region, instance, accelerator,
    #                        chips, kind, term, price (per chip-hour, after discounts), holder
    demand: pd.DataFrame  # workload, market, pair, t, tokens_per_s (rows with demand > 0)
    contract_chips: np.ndarray  # g x t, signed chips (only contract holders hold any)
    contract_cost: np.ndarray  # g x t, USD
    active: tuple[np.ndarray, np.ndarray, np.ndarray]  # (h, t, t'): buy[h,t'] held in t

    @property
    def months(self) -> int:
        return self.scenario.months

    def objective(self, tier: str) -> np.ndarray:
        """The objective vector of `tier`: unmet, unprotected, cost (USD) or rtt."""
        lp = self.lp
        if tier == "cost":
            return lp.cost
        c = np.zeros(lp.n_cols)
        if tier == "rtt":  # + 0.01 ms: nothing is served, nor a chip held in a replica,
            s, _, ids = _serve_terms(self)  # that need not be, even nearby
            best = self.points.groupby("workload")["tp"].transform("max")
            per_chip = self.options["tp"] * (self.options["rtt_ms"] + 0.01)
            if self.scenario.integer:
                c[self.rep_ids] = 0.01 * np.repeat((best * self.points["size"]).to_numpy(),
                                                   self.months)
            else:  # a fractional replica's chips are the chips serving
                per_chip += 0.01 * best.to_numpy()[self.options["point"].to_numpy()]
            c[ids] = per_chip.to_numpy()[s]
        elif tier in lp.variables:
            c[lp.variables[tier].ids] = 1.0
        return c

    @property
    def buy_ids(self) -> np.ndarray:
        return self.lp.variables["buy"].ids

    @property
    def paid_cost(self) -> float:
        """Cost in the total but in no column: signed contracts (USD)."""
        return float(self.contract_cost.sum())

    @property
    def rep_ids(self) -> np.ndarray:
        """Columns of replicas held (whole instances only; none for fractional plans)."""
        block = self.lp.variables.get("rep")
        return block.ids if block is not None else np.zeros(0, dtype=int)

    def replicas(self, x: np.ndarray) -> np.ndarray:
        """Replicas held per (point, month) in plan `x`: whole-instance plans hold them in
        columns; a fractional plan's are its chips serving over the replica size."""
        T = self.months
        if "rep" in self.lp.variables:
            return x[self.rep_ids].reshape(len(self.points), T)
        s, t, ids = _serve_terms(self)
        chips = np.zeros((len(self.points), T))
        np.add.at(chips, (self.options["point"].to_numpy()[s], t), x[ids])
        return chips / self.points["size"].to_numpy(float)[:, None]

    @property
    def whole_ids(self) -> np.ndarray:
        """Columns that are whole numbers with `integer: true`: instances and replicas."""
        return np.concatenate([self.buy_ids, self.rep_ids])

    def column_blocks(self) -> tuple[np.ndarray, list[str]]:
        """(block of every variable, block labels): blocks are months, independent of each
        other once the variables of block -1 (commitments, which span months) are fixed."""
        month = self.lp.column_labels("t")
        month[self.commitment_ids] = -1
        return month, self.scenario.month_labels

    @property
    def commitment_ids(self) -> np.ndarray:
        """Columns of commitments bought (a purchase that lasts more than one month)."""
        term = self.classes["term"].to_numpy()[self.lp.variables["buy"].labels["h"]]
        return self.buy_ids[term > 1]

    def implied_rows(self) -> np.ndarray:
        """Rows the others imply (`define_covers`): MILPs need them, LPs do not."""
        return np.concatenate([self.lp.constraints[n].ids for n in COVERS
                               if n in self.lp.constraints] or [np.zeros(0, dtype=int)])

    def capped_rows(self) -> np.ndarray:
        """Rows that cap instances held (limits and budget: `Family.caps_instances`)."""
        return np.concatenate([self.lp.constraints[f.name].ids for f in FAMILIES
                               if f.caps_instances and f.name in self.lp.constraints]
                              or [np.zeros(0, int)])

    def relaxation(self) -> PlanModel:
        """The model with commitments held and paid one month at a time (a lower bound)."""
        return build_model(self.scenario, monthly_commitments=True)


def build_model(scn: Scenario, monthly_commitments: bool = False) -> PlanModel:
    """The model of `scn`. With `monthly_commitments` a commitment is held one month at a
    time, at a share of its whole cost (a relaxation whose months are independent: a lower
    bound on cost; see `define_variables`)."""
    holders, points, options, classes, demand = serving_options(scn)
    if monthly_commitments:
        classes["paid_term"], classes["term"] = classes["term"], 1
    chips, cost = contract_holders(scn, holders)
    pm = PlanModel(scn, LinearModel(), holders, points, options, classes, demand, chips,
                   cost, active_pairs(classes["term"].to_numpy(), scn.months))
    define_variables(pm)
    for family in FAMILIES:
        family.define(pm)
    return pm


# --- sets --------------------------------------------------------------------------------

def serving_options(scn: Scenario) -> tuple[pd.DataFrame, ...]:
    """Holders, operating points, serving options, purchase classes and demand rows."""
    offers = priced_offerings(scn)
    signed = scn.contracts[SITE].drop_duplicates()
    usable = _undominated_rows(operating_points(scn, pd.concat([offers[SITE], signed])))
    spot_ok = {w.name for w in scn.workloads.values() if w.spot > 0}

    kinds = [k.name for k in purchase_kinds(scn.terms)]
    classes = offers.melt(id_vars=[*SITE, "instance", "chips"], value_vars=kinds,
                          var_name="kind", value_name="price").dropna(subset=["price"])
    classes["spot"] = classes["kind"] == SPOT
    classes = classes[~classes["spot"] | bool(spot_ok)]
    sizes = usable[[*SITE, "size"]].drop_duplicates()
    classes = _undominated_classes(classes, sizes)

    # holders: the offerings' instances (apart for spot) and the signed pools
    bought = classes[HOLDER + ["chips"]].drop_duplicates()
    pools = signed.assign(instance="", spot=False, chips=0)
    holders = pd.concat([pools, bought]).sort_values(HOLDER, ignore_index=True)
    holder_of = holders.reset_index(names="holder")
    classes = classes.merge(holder_of[[*HOLDER, "holder"]], on=HOLDER).sort_values(
        ["holder", "kind"], ignore_index=True)
    classes["term"] = classes["kind"].map(lambda k: kind_of(k).term).astype(int)

    # points: a row's replicas on a holder whose instances they divide (any size on a pool)
    keys = ["workload", *SITE, "row"]
    rows = usable.drop_duplicates(keys)[keys + ["size", "tp"] + ROW[1:] + ["needed_gb"]]
    points = rows.merge(holder_of, on=SITE)
    fits = (points["chips"] == 0) | (points["chips"] % points["size"] == 0)
    points = points[fits & (~points["spot"] | points["workload"].isin(spot_ok))]
    points = points.drop(columns="chips").sort_values(["holder", "workload", "row"],
                                                      ignore_index=True)
    points.index.name = "point"

    options = usable[["workload", "market", *SITE, "row", "rtt_ms"]].merge(
        points.reset_index()[["workload", *SITE, "row", "point", "holder", "spot", "size",
                              "tp"]], on=["workload", *SITE, "row"])
    demand = demand_table(scn)
    pair_of = demand[PAIR].drop_duplicates().reset_index(drop=True).reset_index(names="pair")
    options = options.merge(pair_of, on=PAIR).sort_values(
        ["pair", "point"], ignore_index=True)
    if not scn.integer:
        points, options = _undominated_options(scn, points, options, classes)
    return holders, points, options, classes, demand


def _undominated_options(scn: Scenario, points: pd.DataFrame, options: pd.DataFrame,
                         classes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """With fractional replicas a chip serves at its row's tokens/s whatever the replica
    size. An option is dropped when swapping its tokens/s to another option of the same pair
    changes no row but to lower cost (or, at equal cost, a nearer round trip), so no plan of
    the tiers uses it:
    - of one holder's options for a pair, all but the fastest row's (the first of equals):
      chip for chip more tokens/s at the same round trip, provider and kind;
    - of options whose holder is bought one month at a time, in one class that no limit
      counts, all but the cheapest per token/s of the pair's provider (and region when
      regions fail) and spot or not: the rows are in tokens/s, cost and chips held only
      fall, and nothing caps the chips of the cheaper one.
    Points left with no option go too. Fleet XL: 3.3M columns -> 1.0M; HiGHS's presolve
    took 194 s to find most of them."""
    best = options.groupby(["pair", "holder"])["tp"].transform("max")
    options = options[options["tp"] == best].drop_duplicates(["pair", "holder"])

    capped = np.zeros(len(classes), dtype=bool)
    for limit in scn.limits:
        capped |= _in_group(classes, limit, classes["kind"])
    one = classes.assign(capped=capped).groupby("holder").agg(
        n=("kind", "size"), term=("term", "max"), capped=("capped", "any"),
        price=("price", "first"))
    one = one[(one["n"] == 1) & (one["term"] == 1) & ~one["capped"]]["price"]
    per_token = options["holder"].map(one) / options["tp"]
    key = ["pair", "provider", "spot"] + (["region"] if scn.survive == "region" else [])
    least = per_token.groupby([options[k] for k in key]).transform("min")
    options = options[~(per_token > least * (1 + 1e-12))]

    kept = np.unique(options["point"].to_numpy())
    renumber = np.full(len(points), -1)
    renumber[kept] = np.arange(len(kept))
    points = points.iloc[kept].reset_index(drop=True)
    points.index.name = "point"
    return points, options.assign(point=renumber[options["point"].to_numpy()]).reset_index(
        drop=True)


def _undominated_rows(usable: pd.DataFrame) -> pd.DataFrame:
    """Drop row b of (workload, site) when row a's size divides b's, with at least b's
    tokens/s per chip and no slower first token (so a serves every market b serves): any
    replica of b is matched, chip for chip, by replicas of a (equal rows: the first kept)."""
    keys = ["workload", *SITE]
    rows = usable.drop_duplicates([*keys, "row"])[[*keys, "row", "size", "tp", "ttft_ms"]]
    pairs = rows.merge(rows, on=keys, suffixes=("", "_a"))
    pairs = pairs[pairs["row"] != pairs["row_a"]]
    same = (pairs["size_a"] == pairs["size"]) & (pairs["tp_a"] == pairs["tp"]) & \
        (pairs["ttft_ms_a"] == pairs["ttft_ms"])
    dominated = (pairs["size"] % pairs["size_a"] == 0) & (pairs["tp_a"] >= pairs["tp"]) & \
        (pairs["ttft_ms_a"] <= pairs["ttft_ms"]) & (~same | (pairs["row_a"] < pairs["row"]))
    gone = pairs.loc[dominated, [*keys, "row"]].drop_duplicates()
    mark = usable.merge(gone.assign(gone=True), on=[*keys, "row"], how="left")["gone"]
    return usable[mark.isna().to_numpy()].reset_index(drop=True)


def _undominated_classes(classes: pd.DataFrame, sizes: pd.DataFrame) -> pd.DataFrame:
    """Drop class b when a class a of the same site and kind has chips dividing b's at a
    price per chip no higher, and every replica size usable on b divides a's chips (equal
    instances: the first by name is kept); and classes of sites no workload can use."""
    classes = classes.merge(sizes[SITE].drop_duplicates(), on=SITE)
    c = classes.reset_index(drop=True).reset_index(names="b")
    pairs = c.merge(c, on=[*SITE, "kind"], suffixes=("", "_a"))
    pairs = pairs[pairs["b"] != pairs["b_a"]]
    same = pairs["chips_a"] == pairs["chips"]
    cheaper = pairs["price_a"] < pairs["price"]
    dominated = (pairs["chips"] % pairs["chips_a"] == 0) & (pairs["price_a"] <= pairs["price"]) \
        & (~same | cheaper | (pairs["instance_a"] < pairs["instance"]))
    pairs = pairs[dominated]
    if len(pairs):  # every size that fits b must fit a
        hosted = pairs[["b", "b_a", *SITE, "chips", "chips_a"]].merge(sizes, on=SITE)
        hosted = hosted[hosted["chips"] % hosted["size"] == 0]
        misfit = hosted.loc[hosted["chips_a"] % hosted["size"] != 0, ["b", "b_a"]]
        pairs = pairs.merge(misfit.assign(no=True), on=["b", "b_a"], how="left")
        pairs = pairs[pairs["no"].isna()]
    return c.drop(index=pairs["b"].unique()).drop(columns="b").reset_index(drop=True)


def contract_holders(scn: Scenario, holders: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Signed chips and their cost per holder and month."""
    con = scn.contracts
    chips = np.zeros((len(holders), scn.months))
    cost = np.zeros_like(chips)
    if len(con):
        g = pd.MultiIndex.from_frame(holders[HOLDER]).get_indexer(
            pd.MultiIndex.from_frame(con[SITE].assign(instance="", spot=False)))
        on = contract_months(con, scn.start, scn.months)
        np.add.at(chips, g, on * con["chips"].to_numpy()[:, None])
        np.add.at(cost, g, on * (con["chips"] * con["price_per_chip_hour"]).to_numpy()[:, None]
                  * scn.hours[None, :])
    return chips, cost


def demand_table(scn: Scenario) -> pd.DataFrame:
    rows = [(w.name, m, t, d[t]) for w in scn.workloads.values()
            for m, d in w.demand.items() for t in range(scn.months) if d[t] > 0]
    table = pd.DataFrame(rows, columns=[*PAIR, "t", "tokens_per_s"])
    pair = table[PAIR].drop_duplicates().reset_index(drop=True).reset_index(names="pair")
    return table.merge(pair, on=PAIR)


def active_pairs(terms: np.ndarray, months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, t, t') for every class h, month t and purchase month t' with t - L_h < t' <= t."""
    t, tb = np.meshgrid(np.arange(months), np.arange(months), indexing="ij")
    lag = (t - tb).ravel()
    t, tb = t.ravel(), tb.ravel()
    out = []
    for term in np.unique(terms):
        hs = np.flatnonzero(terms == term)
        keep = (lag >= 0) & (lag < term)
        out.append((np.repeat(hs, keep.sum()), np.tile(t[keep], len(hs)),
                    np.tile(tb[keep], len(hs))))
    if not out:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    return tuple(np.concatenate(parts) for parts in zip(*out))


# --- variables ---------------------------------------------------------------------------

def _grid(n: int, months: int, name: str) -> pd.DataFrame:
    return pd.DataFrame({name: np.repeat(np.arange(n), months),
                         "t": np.tile(np.arange(months), n)})


def define_variables(pm: PlanModel) -> None:
    scn, lp, T = pm.scenario, pm.lp, pm.months
    lp.add_variables("serve", _grid(len(pm.options), T, "s"), cost=0.0)
    if scn.integer:  # fractional replicas are chips serving (`define_replicas`)
        lp.add_variables("rep", _grid(len(pm.points), T, "p"), cost=0.0, integer=True)
    cls = pm.classes
    term = cls.get("paid_term", cls["term"]).to_numpy()
    longest = int(term.max()) if len(cls) else 1
    hours = month_hours(scn.start, T + longest)
    # hours paid for one purchase in month t: sum of hours over [t, t + L)
    cum = np.concatenate([[0.0], np.cumsum(hours)])
    t = np.arange(T)
    paid = cum[t[None, :] + term[:, None]] - cum[t][None, :]
    if "paid_term" in cls:
        paid = _monthly_share(paid, term)
    per_instance_hour = (cls["chips"] * cls["price"]).to_numpy()
    lp.add_variables("buy", _grid(len(cls), T, "h"),
                     cost=(per_instance_hour[:, None] * paid).ravel(), integer=scn.integer)
    lp.add_variables("unmet", pm.demand[["pair", "t"]], cost=0.0)


def _monthly_share(paid: np.ndarray, term: np.ndarray) -> np.ndarray:
    """A commitment's cost shared over the horizon months it covers, for the relaxation
    whose months are apart: one bought in month s covers n_s = min(L, T - s) of them, and
    each holds its share paid[s] / n_s. Month t may hold any purchase month s whose term
    covers it, so it pays the least share of those: every plan costs at least as much
    as its months at these prices, which is a lower bound on the optimum."""
    T = paid.shape[1]
    s = np.arange(T)
    share = paid / np.minimum(term[:, None], T - s[None, :])
    out = np.empty_like(paid)
    for t in range(T):
        covers = (s[None, :] <= t) & (t < s[None, :] + term[:, None])
        out[:, t] = np.where(covers, share, np.inf).min(axis=1)
    return out


def _serve_ids(pm: PlanModel, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    return pm.lp.variables["serve"].start + s * pm.months + t


def _buy_ids(pm: PlanModel, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    return pm.lp.variables["buy"].start + h * pm.months + t


def _rep_ids(pm: PlanModel, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return pm.lp.variables["rep"].start + p * pm.months + t


def _serve_terms(pm: PlanModel, mask: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(s, t, serve ids) for every month of the options selected by `mask`."""
    s = np.flatnonzero(mask) if mask is not None else np.arange(len(pm.options))
    ss, tt = np.repeat(s, pm.months), np.tile(np.arange(pm.months), len(s))
    return ss, tt, _serve_ids(pm, ss, tt)


# --- constraints -------------------------------------------------------------------------

def define_demand(pm: PlanModel) -> None:
    """util_w sum_s tp_s serve[s,t] + unmet[w,m,t] >= D[w,m,t]."""
    d = pm.demand
    row_of = np.full((d["pair"].max() + 1 if len(d) else 0, pm.months), -1)
    row_of[d["pair"], d["t"]] = np.arange(len(d))
    s, t, ids = _serve_terms(pm)
    rows = row_of[pm.options["pair"].to_numpy()[s], t]
    keep = rows >= 0
    util = pm.options["workload"].map(
        {w.name: w.utilization for w in pm.scenario.workloads.values()}).to_numpy()
    coef = (util * pm.options["tp"].to_numpy())[s]
    unmet = pm.lp.variables["unmet"].ids
    pm.lp.add_constraints("demand", d[[*PAIR, "t"]],
                          np.concatenate([rows[keep], np.arange(len(d))]),
                          np.concatenate([ids[keep], unmet]),
                          np.concatenate([coef[keep], np.ones(len(d))]),
                          lower=d["tokens_per_s"].to_numpy())


def _held_terms(pm: PlanModel, coef_of_class: np.ndarray, mask: np.ndarray | None = None):
    """(h, t, buy ids, coefs) of sum_h coef_h held[h,t] for classes selected by `mask`."""
    h, t, tb = pm.active
    if mask is not None:
        keep = mask[h]
        h, t, tb = h[keep], t[keep], tb[keep]
    return h, t, _buy_ids(pm, h, tb), coef_of_class[h]


def define_replicas(pm: PlanModel) -> None:
    """sum_{o of p} serve[o,t] - s_p rep[p,t] <= 0: replicas serve what they hold. Whole
    instances only: fractional replicas are the chips serving, which supply counts as they
    are (folding these rows into supply by hand took fleet XL's presolve from 49 s to 8 s)."""
    if "rep" not in pm.lp.variables:
        return
    T, P = pm.months, len(pm.points)
    s, t, ids = _serve_terms(pm)
    p, tp = np.repeat(np.arange(P), T), np.tile(np.arange(T), P)
    pm.lp.add_constraints("replicas", _grid(P, T, "p"),
                          np.concatenate([pm.options["point"].to_numpy()[s] * T + t, p * T + tp]),
                          np.concatenate([ids, _rep_ids(pm, p, tp)]),
                          np.concatenate([np.ones(len(ids)),
                                          -np.repeat(pm.points["size"].to_numpy(float), T)]),
                          upper=0.0)


def define_supply(pm: PlanModel) -> None:
    """sum_{p in g} s_p rep[p,t] - sum_{h in g} chips_h held[h,t] <= signed chips of g in t:
    no chip serves two replicas."""
    T, P = pm.months, len(pm.points)
    if "rep" in pm.lp.variables:
        p, tp = np.repeat(np.arange(P), T), np.tile(np.arange(T), P)
        rows = pm.points["holder"].to_numpy()[p] * T + tp
        used, per = _rep_ids(pm, p, tp), np.repeat(pm.points["size"].to_numpy(float), T)
    else:  # fractional: the chips serving are the replicas' chips
        s, tp, used = _serve_terms(pm)
        rows, per = pm.options["holder"].to_numpy()[s] * T + tp, np.ones(len(used))
    h, th, buy, coef = _held_terms(pm, -pm.classes["chips"].to_numpy(dtype=float))
    holders = pm.classes["holder"].to_numpy()[h]
    pm.lp.add_constraints("supply", _grid(len(pm.holders), T, "holder"),
                          np.concatenate([rows, holders * T + th]),
                          np.concatenate([used, buy]), np.concatenate([per, coef]),
                          upper=pm.contract_chips.ravel())


def _in_group(table: pd.DataFrame, limit, kind: pd.Series) -> np.ndarray:
    """Rows of `table` (whose purchase kind is `kind`) that `limit` counts."""
    ok = np.ones(len(table), dtype=bool)
    for col in SITE:
        if getattr(limit, col) is not None:
            ok &= (table[col] == getattr(limit, col)).to_numpy()
    if limit.kind is not None:
        ok &= (kind.map(lambda k: kind_of(k).family) == limit.kind).to_numpy()
    return ok


def define_limits(pm: PlanModel) -> None:
    """sum_{h in group} chips_h held[h,t] <= chips - contract chips in group, t in [from, to]
    (with `kind:` only classes, or only contracts, of that kind)."""
    chips = pm.classes["chips"].to_numpy(dtype=float)
    labels, rows, cols, coefs, upper = [], [], [], [], []
    for i, limit in enumerate(pm.scenario.limits):
        months = np.arange(max(limit.first, 0), min(limit.last, pm.months - 1) + 1)
        if not len(months):
            continue
        _, t, buy, coef = _held_terms(pm, chips, _in_group(pm.classes, limit,
                                                           pm.classes["kind"]))
        row_of = np.full(pm.months, -1)
        row_of[months] = np.arange(len(months)) + sum(map(len, labels))
        keep = row_of[t] >= 0
        rows.append(row_of[t][keep]), cols.append(buy[keep]), coefs.append(coef[keep])
        signed = pm.contract_chips[_in_group(pm.holders, limit, pd.Series(
            CONTRACT, index=pm.holders.index))].sum(axis=0)
        upper.append(limit.chips - signed[months])
        labels.append(pd.DataFrame({"limit": i, "t": months}))
    if labels:
        pm.lp.add_constraints("limits", pd.concat(labels), np.concatenate(rows),
                              np.concatenate(cols), np.concatenate(coefs),
                              upper=np.concatenate(upper))


def define_max_share(pm: PlanModel) -> None:
    """sum_s tp_s ([provider_s = p] - share_p) serve[s,t] <= 0."""
    caps = {p: c for p, c in pm.scenario.max_share.items()
            if (pm.options["provider"] == p).any()}
    if not caps:
        return
    s, t, ids = _serve_terms(pm)
    tp, prov = pm.options["tp"].to_numpy(), pm.options["provider"].to_numpy()
    rows, coefs = [], []
    for i, (p, share) in enumerate(caps.items()):
        rows.append(i * pm.months + t)
        coefs.append((tp * ((prov == p) - share))[s])
    pm.lp.add_constraints("max_share", _grid(len(caps), pm.months, "cap")
                          .assign(provider=lambda f: np.array(list(caps))[f["cap"]]),
                          np.concatenate(rows), np.tile(ids, len(caps)),
                          np.concatenate(coefs), upper=0.0)


def define_spot(pm: PlanModel) -> None:
    """sum_{s of w} tp_s ([kind_s = spot] - spot_w) serve[s,t] <= 0 for workloads using spot
    (a workload's request buckets together)."""
    opts = pm.options
    workloads = pm.scenario.workloads.values()
    family = opts["workload"].map({w.name: w.family for w in workloads})  # buckets together
    limited = sorted({w.family for w in workloads if w.spot < 1}
                     & set(family[opts["spot"]]))
    if not limited:
        return
    mask = family.isin(limited).to_numpy()
    s, t, ids = _serve_terms(pm, mask)
    wi = family.map({w: i for i, w in enumerate(limited)}).to_numpy()
    share = opts["workload"].map({w.name: w.spot for w in workloads})
    coef = (opts["tp"] * (opts["spot"] - share)).to_numpy()[s]
    labels = _grid(len(limited), pm.months, "w").assign(
        workload=lambda f: np.array(limited)[f["w"]])
    pm.lp.add_constraints("spot", labels, wi[s].astype(int) * pm.months + t, ids, coef,
                          upper=0.0)


def define_resilience(pm: PlanModel) -> None:
    """sum_{o of (w,m) not at p, surviving} tp_o serve[o,t] + unprot[w,m,p,t]
    + keep unmet[w,m,t] >= keep D[w,m,t], one row per (w, m, t) with demand and per site p
    of (w, m) that could fail (spot survives only with resilience.count_spot: it is the
    first capacity a failover crowd takes away). The served tokens/s are written out per
    row, not summed per site in a column of their own: that column's equality rows took
    half of fleet XL's simplex time (35 s -> 19 s without them)."""
    scn = pm.scenario
    if scn.survive is None or scn.keep == 0:
        return
    opts = pm.options
    at = opts["provider"] if scn.survive == "provider" else \
        opts["provider"] + "/" + opts["region"]
    sites = pd.DataFrame({"pair": opts["pair"], "site": at}).drop_duplicates()
    fail = pm.demand.reset_index(names="d").merge(sites, on="pair")
    fail["r"] = np.arange(len(fail))
    kept = opts.assign(o=np.arange(len(opts)), at=at)
    if not scn.count_spot:
        kept = kept[~kept["spot"].astype(bool)]
    terms = fail[["r", "pair", "t", "site"]].merge(kept[["o", "pair", "at", "tp"]], on="pair")
    terms = terms[terms["at"] != terms["site"]]
    unmet = pm.lp.variables["unmet"].ids
    labels = fail[[*PAIR, "t", "site"]]
    unprot = pm.lp.add_variables("unprotected", labels, cost=0.0)
    row = fail["r"].to_numpy()
    pm.lp.add_constraints(
        "resilience", labels, np.concatenate([terms["r"], row, row]),
        np.concatenate([_serve_ids(pm, terms["o"].to_numpy(), terms["t"].to_numpy()),
                        unmet[fail["d"].to_numpy()], unprot]),
        np.concatenate([terms["tp"], np.full(len(fail), scn.keep), np.ones(len(row))]),
        lower=scn.keep * fail["tokens_per_s"].to_numpy())


def define_budget(pm: PlanModel) -> None:
    """sum_h chips_h price_h hours_t held[h,t] <= monthly_max - contract cost_t."""
    scn = pm.scenario
    if scn.monthly_max is None:
        return
    _, t, buy, coef = _held_terms(pm, (pm.classes["chips"] * pm.classes["price"]).to_numpy())
    pm.lp.add_constraints("budget", pd.DataFrame({"t": np.arange(pm.months)}), t, buy,
                          coef * scn.hours[t],
                          upper=scn.monthly_max - pm.contract_cost.sum(axis=0))


COVERS = ("cover_replicas", "cover_demand", "cover_resilience")  # blocks of define_covers


def define_covers(pm: PlanModel) -> None:
    """Whole instances only: the demand and resilience rows restated on the chips held,
    which serving can never exceed (a holder's replicas serve at most its best tokens/s per
    chip tp_g on the chips it holds and is signed for):
      util_w sum_g tp_g (held chips_g,t + signed_g,t) + unmet[w,m,t] >= D[w,m,t]
      sum_{g not at p, surviving} tp_g (held chips + signed) + unprot + keep unmet >= keep D.
    Implied by the model, so the LP bound is the same; written on the instance counts
    alone they let the MIP solver round them up (cover and MIR cuts). LPs leave them out
    (`PlanModel.implied_rows`): dense rows that change no LP optimum, and slow interior
    point down (fleet L-milp: 107 s -> 5.5 s for the first LP)."""
    scn = pm.scenario
    if not scn.integer or not len(pm.demand):
        return
    util = {w.name: w.utilization for w in scn.workloads.values()}
    h, t, tb = pm.active
    held = pd.DataFrame({"h": h, "t": t, "col": _buy_ids(pm, h, tb)}).merge(
        pm.classes[["holder", "chips"]], left_on="h", right_index=True)
    best = pm.options.groupby(["pair", "holder"], as_index=False).agg(
        tp=("tp", "max"), workload=("workload", "first"), provider=("provider", "first"),
        region=("region", "first"), spot=("spot", "first"))
    d = pm.demand.reset_index(names="d")
    opts = d[["d", "pair", "t"]].merge(best, on="pair")
    opts["tp"] *= opts["workload"].map(util)
    signed = np.bincount(opts["d"], opts["tp"] * pm.contract_chips[opts["holder"], opts["t"]],
                         minlength=len(d))
    terms = opts.merge(held, on=["holder", "t"])
    unmet = pm.lp.variables["unmet"].ids
    # the same on the replicas that may serve (w, m): util_w sum_p tp_p s_p rep[p,t] + unmet
    reps = d[["d", "pair", "t"]].merge(pm.options[["pair", "point", "workload", "tp", "size"]],
                                       on="pair")
    reps["coef"] = reps["tp"] * reps["size"] * reps["workload"].map(util)
    pm.lp.add_constraints(COVERS[0], d[[*PAIR, "t"]],
                          np.concatenate([reps["d"], d["d"]]),
                          np.concatenate([_rep_ids(pm, reps["point"].to_numpy(),
                                                   reps["t"].to_numpy()), unmet]),
                          np.concatenate([reps["coef"], np.ones(len(d))]),
                          lower=d["tokens_per_s"].to_numpy())
    pm.lp.add_constraints(COVERS[1], d[[*PAIR, "t"]],
                          np.concatenate([terms["d"], d["d"]]),
                          np.concatenate([terms["col"], unmet]),
                          np.concatenate([terms["tp"] * terms["chips"], np.ones(len(d))]),
                          lower=d["tokens_per_s"].to_numpy() - signed)
    if "resilience" not in pm.lp.constraints:
        return
    # resilience rows are per (w, m, t, site): the surviving holders, without the failed site
    res = pm.lp.constraints["resilience"].labels.reset_index(names="r").merge(
        d[[*PAIR, "t", "d", "tokens_per_s"]], on=[*PAIR, "t"])
    site = opts["provider"] if scn.survive == "provider" else \
        opts["provider"] + "/" + opts["region"]
    opts = opts.assign(site=site, tp=opts["tp"] / opts["workload"].map(util))
    if not scn.count_spot:
        opts = opts[~opts["spot"].astype(bool)]
    kept = res[["r", "d", "site"]].merge(opts, on="d", suffixes=("", "_o"))
    kept = kept[kept["site_o"] != kept["site"]]
    signed = np.bincount(kept["r"], kept["tp"] * pm.contract_chips[kept["holder"], kept["t"]],
                         minlength=len(res))
    terms = kept.merge(held, on=["holder", "t"])
    pm.lp.add_constraints(
        COVERS[2], res[[*PAIR, "t", "site"]],
        np.concatenate([terms["r"], res["r"], res["r"]]),
        np.concatenate([terms["col"], pm.lp.variables["unprotected"].ids[res["r"]],
                        unmet[res["d"]]]),
        np.concatenate([terms["tp"] * terms["chips"], np.ones(len(res)),
                        np.full(len(res), scn.keep)]),
        lower=scn.keep * res["tokens_per_s"].to_numpy() - signed)


@dataclass(frozen=True)
class Family:
    """A constraint family: the block its rows are named by, how it is built, whether
    rounding instances up can break its rows (so a whole start repairs them), and what
    `plan explain` calls a binding row of it (None: never reported)."""

    name: str
    define: Callable[[PlanModel], None]
    caps_instances: bool = False
    explained_as: str | None = None


# The model, in the order it is built; a new family is one define_* and one line here.
FAMILIES = (
    Family("demand", define_demand),
    Family("replicas", define_replicas),
    Family("supply", define_supply, explained_as="contract"),
    Family("limits", define_limits, caps_instances=True, explained_as="limit"),
    Family("budget", define_budget, caps_instances=True, explained_as="budget"),
    Family("max_share", define_max_share, explained_as="max_share"),
    Family("spot", define_spot, explained_as="spot"),
    Family("resilience", define_resilience, explained_as="resilience"),
    Family("covers", define_covers),
)
