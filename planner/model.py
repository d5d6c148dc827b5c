"""The optimisation model of spec section 4, one function per constraint family.

Chips of one accelerator in one region serve at the same tp whatever instance or purchase
kind holds them, so serving is modelled per pool: the chips of a site (provider, region,
accelerator) held as contracts, commitments or on-demand, and apart from them its spot chips
(spot has its own cap). This is spec section 4 with the per-kind serving variables summed
per pool: every plan of one is a plan of the other at the same cost, and the report splits
each pool's serving back over the kinds that hold it (contracts first, then commitments,
then on-demand).

Sets: serving options s = (workload w, market m, pool q) with usable tp_s, months t, holding
classes h = (offering o, kind k in {on-demand, spot, commit-L}), each in one pool.
Variables (all >= 0):
  serve[s, t]   chips of pool q serving (w, m) in month t
  buy[h, t]     instances of class h bought in month t (on-demand and spot last one month,
                commit-L lasts L months, paid also after the horizon); integer if asked
  unmet[w,m,t]  tokens/s of demand left unserved
  site[w,m,p,t] tokens/s served from provider (or region) p (resilience only)
  unprot[w,m,p,t]  tokens/s that would be lost beyond the kept share if p failed
held[h, t] = sum of buy[h, t'] over t - L_h < t' <= t (L_h = 1 for on-demand and spot).

Objectives, minimised in this order, each tier held at its optimum for the next (tiers.py):
  unmet        sum unmet[w,m,t]
  unprotected  sum unprot[w,m,p,t]
  cost         sum_{h,t} buy[h,t] chips_h price_h sum_{u=t}^{t+L_h-1} hours_u
  rtt          sum_{s,t} rtt_s tp_s serve[s,t]  (serve from the nearest region at equal cost)
Constraints:
  demand       util_w sum_s tp_s serve[s,t] + unmet[w,m,t] >= D[w,m,t]
  supply       sum_{s in q} serve[s,t] - sum_{h in q} chips_h held[h,t] <= signed chips of q in t
  limits       sum_{h in group} chips_h held[h,t] <= chips - signed chips in group
  max_share    sum_{s of p} tp_s serve[s,t] <= share_p sum_s tp_s serve[s,t]
  spot         sum_{s of w, spot} tp_s serve[s,t] <= spot_w sum_{s of w} tp_s serve[s,t]
  resilience   sum_{p' != p} site[w,m,p',t] + unprot[w,m,p,t] >= keep (D[w,m,t] - unmet[w,m,t])
  budget       sum_h chips_h price_h hours_t held[h,t] <= monthly_max - contract cost_t
Signed contracts are a constant: their cost is reported, not optimized.

Classes that another class of the same pool and kind dominates (its instance has a divisor
of the chips at no higher price per chip) are left out: any whole number of the dominated
instance is matched chip for chip, at no more cost, by the smaller one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.linear import LinearModel
from planner.scenario import Scenario, contract_months, month_hours
from planner.serving import PAIR, SITE, priced_offerings, usable_throughput

TIERS = ("unmet", "unprotected", "cost")
CONTRACT = "contract"
POOL = [*SITE, "spot"]


@dataclass
class PlanModel:
    """The linear program and the tables that say what its variables stand for."""

    scenario: Scenario
    lp: LinearModel
    pools: pd.DataFrame  # pools q: provider, region, accelerator, spot (bool)
    options: pd.DataFrame  # serving options s: workload, market, pair, POOL, pool, tp
    classes: pd.DataFrame  # holding classes h: provider, region, instance, accelerator,
    #                        chips, kind, term, price (per chip-hour, after discounts), pool
    demand: pd.DataFrame  # workload, market, pair, t, tokens_per_s (rows with demand > 0)
    contract_chips: np.ndarray  # q x t, signed chips (spot pools hold none)
    contract_cost: np.ndarray  # q x t, USD
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
        if tier == "rtt":  # + 0.01 ms: nothing is served that need not be, even nearby
            s, _, ids = _serve_terms(self)
            c[ids] = ((self.options["rtt_ms"] + 0.01) * self.options["tp"]).to_numpy()[s]
        elif tier in lp.variables:
            c[lp.variables[tier].ids] = 1.0
        return c

    @property
    def buy_ids(self) -> np.ndarray:
        return self.lp.variables["buy"].ids

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

    def capped_rows(self) -> np.ndarray:
        """Rows that cap instances held: limits and budget."""
        return np.concatenate([self.lp.constraints[n].ids for n in ("limits", "budget")
                               if n in self.lp.constraints] or [np.zeros(0, int)])

    def relaxation(self) -> PlanModel:
        """The model with commitments held and paid one month at a time (a lower bound)."""
        return build_model(self.scenario, monthly_commitments=True)


def build_model(scn: Scenario, monthly_commitments: bool = False) -> PlanModel:
    """The model of `scn`. With `monthly_commitments` a commitment is held and paid one
    month at a time (a relaxation whose months are independent: a lower bound on cost)."""
    pools, options, classes, demand = serving_options(scn)
    if monthly_commitments:
        classes["term"] = 1
    chips, cost = contract_pools(scn, pools)
    pm = PlanModel(scn, LinearModel(), pools, options, classes, demand, chips, cost,
                   active_pairs(classes["term"].to_numpy(), scn.months))
    define_variables(pm)
    for define in (define_demand, define_supply, define_limits, define_max_share,
                   define_spot, define_resilience, define_budget, define_covers):
        define(pm)
    return pm


# --- sets --------------------------------------------------------------------------------

def serving_options(scn: Scenario
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Pools, serving options, holding classes and demand rows, after pruning."""
    offers = priced_offerings(scn)
    tp = usable_throughput(scn, pd.concat([offers[SITE], scn.contracts[SITE]]))
    kinds = ["on-demand", "spot", *(f"commit-{t}" for t in scn.terms)]
    classes = offers.melt(id_vars=[*SITE, "instance", "chips"], value_vars=kinds,
                          var_name="kind", value_name="price").dropna(subset=["price"])
    classes["spot"] = classes["kind"] == "spot"

    # spot options only for workloads that may use spot, where spot is sold
    spot_ok = tp["workload"].map({w.name: w.spot > 0 for w in scn.workloads.values()})
    spot_sites = classes.loc[classes["spot"], SITE].drop_duplicates()
    spot_opts = tp.loc[spot_ok.to_numpy(dtype=bool)].merge(spot_sites, on=SITE)
    options = pd.concat([tp.assign(spot=False), spot_opts.assign(spot=True)],
                        ignore_index=True)
    signed = scn.contracts[SITE].assign(spot=False)  # paid and held even if none may use them
    pools = pd.concat([options[POOL], signed]).drop_duplicates().sort_values(
        POOL, ignore_index=True)
    pool_of = pools.reset_index(names="pool")
    options = options.merge(pool_of, on=POOL)
    classes = _undominated(classes.merge(pool_of, on=POOL)).sort_values(
        ["pool", "kind", "instance"], ignore_index=True)
    classes["term"] = pd.to_numeric(classes["kind"].str.removeprefix("commit-"),
                                    errors="coerce").fillna(1).astype(int)

    demand = demand_table(scn)
    pair_of = demand[PAIR].drop_duplicates().reset_index(drop=True).reset_index(names="pair")
    options = options.merge(pair_of, on=PAIR).sort_values(
        ["pair", "pool"], ignore_index=True)
    return pools, options, classes, demand


def _undominated(classes: pd.DataFrame) -> pd.DataFrame:
    """Drop class b when a class a of the same pool and kind has chips dividing b's at a
    price per chip no higher (equal instances: the first by name is kept)."""
    c = classes.reset_index(names="b")
    pairs = c.merge(c, on=["pool", "kind"], suffixes=("", "_a"))
    pairs = pairs[pairs["b"] != pairs["b_a"]]
    same = pairs["chips_a"] == pairs["chips"]
    cheaper = pairs["price_a"] < pairs["price"]
    dominated = (pairs["chips"] % pairs["chips_a"] == 0) & (pairs["price_a"] <= pairs["price"]) \
        & (~same | cheaper | (pairs["instance_a"] < pairs["instance"]))
    return classes.drop(index=pairs.loc[dominated, "b"].unique())


def contract_pools(scn: Scenario, pools: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Signed chips and their cost per pool and month."""
    con = scn.contracts
    chips = np.zeros((len(pools), scn.months))
    cost = np.zeros_like(chips)
    if len(con):
        q = pd.MultiIndex.from_frame(pools[POOL]).get_indexer(
            pd.MultiIndex.from_frame(con[SITE].assign(spot=False)))
        on = contract_months(con, scn.start, scn.months)
        np.add.at(chips, q, on * con["chips"].to_numpy()[:, None])
        np.add.at(cost, q, on * (con["chips"] * con["price_per_chip_hour"]).to_numpy()[:, None]
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
    cls = pm.classes
    longest = int(cls["term"].max()) if len(cls) else 1
    hours = month_hours(scn.start, T + longest)
    # hours paid for one purchase in month t: sum of hours over [t, t + L)
    cum = np.concatenate([[0.0], np.cumsum(hours)])
    t = np.arange(T)
    paid = cum[t[None, :] + cls["term"].to_numpy()[:, None]] - cum[t][None, :]
    per_instance_hour = (cls["chips"] * cls["price"]).to_numpy()
    lp.add_variables("buy", _grid(len(cls), T, "h"),
                     cost=(per_instance_hour[:, None] * paid).ravel(), integer=scn.integer)
    lp.add_variables("unmet", pm.demand[["pair", "t"]], cost=0.0)


def _serve_ids(pm: PlanModel, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    return pm.lp.variables["serve"].start + s * pm.months + t


def _buy_ids(pm: PlanModel, h: np.ndarray, t: np.ndarray) -> np.ndarray:
    return pm.lp.variables["buy"].start + h * pm.months + t


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


def define_supply(pm: PlanModel) -> None:
    """sum_{s in q} serve[s,t] - sum_{h in q} chips_h held[h,t] <= signed chips of q in t."""
    s, t, ids = _serve_terms(pm)
    rows = pm.options["pool"].to_numpy()[s] * pm.months + t
    h, th, buy, coef = _held_terms(pm, -pm.classes["chips"].to_numpy(dtype=float))
    pools = pm.classes["pool"].to_numpy()[h]
    pm.lp.add_constraints("supply", _grid(len(pm.pools), pm.months, "pool"),
                          np.concatenate([rows, pools * pm.months + th]),
                          np.concatenate([ids, buy]),
                          np.concatenate([np.ones(len(ids)), coef]),
                          upper=pm.contract_chips.ravel())


def _in_group(table: pd.DataFrame, limit) -> np.ndarray:
    ok = np.ones(len(table), dtype=bool)
    for col in SITE:
        if getattr(limit, col) is not None:
            ok &= (table[col] == getattr(limit, col)).to_numpy()
    return ok


def define_limits(pm: PlanModel) -> None:
    """sum_{h in group} chips_h held[h,t] <= chips - contract chips in group, t in [from, to]."""
    chips = pm.classes["chips"].to_numpy(dtype=float)
    labels, rows, cols, coefs, upper = [], [], [], [], []
    for i, limit in enumerate(pm.scenario.limits):
        months = np.arange(max(limit.first, 0), min(limit.last, pm.months - 1) + 1)
        if not len(months):
            continue
        _, t, buy, coef = _held_terms(pm, chips, _in_group(pm.classes, limit))
        row_of = np.full(pm.months, -1)
        row_of[months] = np.arange(len(months)) + sum(map(len, labels))
        keep = row_of[t] >= 0
        rows.append(row_of[t][keep]), cols.append(buy[keep]), coefs.append(coef[keep])
        signed = pm.contract_chips[_in_group(pm.pools, limit)].sum(axis=0)
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
    """site[w,m,p,t] = sum_{s of (w,m) at p} tp_s serve[s,t];
    sum_{p' != p} site[w,m,p',t] + unprot[w,m,p,t] + keep unmet[w,m,t] >= keep D[w,m,t]."""
    scn = pm.scenario
    if scn.survive is None or scn.keep == 0:
        return
    opts = pm.options
    at = opts["provider"] if scn.survive == "provider" else \
        opts["provider"] + "/" + opts["region"]
    sites = pd.DataFrame({"pair": opts["pair"], "site": at}).drop_duplicates() \
        .reset_index(drop=True)
    site_of = pd.MultiIndex.from_frame(sites).get_indexer(
        pd.MultiIndex.from_arrays([opts["pair"], at]))
    T = pm.months
    z = pm.lp.add_variables("site", _grid(len(sites), T, "k").assign(
        pair=lambda f: sites["pair"].to_numpy()[f["k"]],
        site=lambda f: sites["site"].to_numpy()[f["k"]]), cost=0.0)
    s, t, ids = _serve_terms(pm)
    pm.lp.add_constraints("site", _grid(len(sites), T, "k"),
                          np.concatenate([site_of[s] * T + t, np.arange(len(z))]),
                          np.concatenate([ids, z]),
                          np.concatenate([opts["tp"].to_numpy()[s], -np.ones(len(z))]),
                          lower=0.0, upper=0.0)

    # one row per (w, m, t) with demand and per site p of (w, m) that could fail
    d = pm.demand.reset_index(names="d")
    fail = d.merge(sites.reset_index(names="k"), on="pair")
    others = fail.merge(sites.reset_index(names="k2"), on="pair")
    others = others[others["k2"] != others["k"]]
    row = np.arange(len(fail))
    row_of = pd.Series(row, index=pd.MultiIndex.from_frame(fail[["d", "k"]]))
    orow = row_of.reindex(pd.MultiIndex.from_frame(others[["d", "k"]])).to_numpy()
    unmet = pm.lp.variables["unmet"].ids
    labels = fail[[*PAIR, "t", "site"]]
    unprot = pm.lp.add_variables("unprotected", labels, cost=0.0)
    pm.lp.add_constraints(
        "resilience", labels, np.concatenate([orow, row, row]),
        np.concatenate([z[others["k2"].to_numpy() * T + others["t"].to_numpy()],
                        unmet[fail["d"].to_numpy()], unprot]),
        np.concatenate([np.ones(len(orow)), np.full(len(fail), scn.keep), np.ones(len(row))]),
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


def define_covers(pm: PlanModel) -> None:
    """Whole instances only: the demand and resilience rows restated on the chips held,
    which serving can never exceed (serve[s,t] <= chips held in its pool + signed):
      util_w sum_s tp_s (held chips_q(s),t + signed_q(s),t) + unmet[w,m,t] >= D[w,m,t]
      sum_{s not at p} tp_s (held chips + signed) + unprot + keep unmet >= keep D.
    Implied by the model, so the LP bound is the same; written on the instance counts
    alone they let the MIP solver round them up (cover and MIR cuts)."""
    scn = pm.scenario
    if not scn.integer or not len(pm.demand):
        return
    util = {w.name: w.utilization for w in scn.workloads.values()}
    h, t, tb = pm.active
    held = pd.DataFrame({"h": h, "t": t, "col": _buy_ids(pm, h, tb)}).merge(
        pm.classes[["pool", "chips"]], left_on="h", right_index=True)
    d = pm.demand.reset_index(names="d")
    opts = d[["d", "pair", "t"]].merge(pm.options[["pair", "pool", "tp", "provider",
                                                   "region", "workload"]], on="pair")
    opts["tp"] *= opts["workload"].map(util)
    signed = np.bincount(opts["d"], opts["tp"] * pm.contract_chips[opts["pool"], opts["t"]],
                         minlength=len(d))
    terms = opts.merge(held, on=["pool", "t"])
    unmet = pm.lp.variables["unmet"].ids
    pm.lp.add_constraints("cover_demand", d[[*PAIR, "t"]],
                          np.concatenate([terms["d"], d["d"]]),
                          np.concatenate([terms["col"], unmet]),
                          np.concatenate([terms["tp"] * terms["chips"], np.ones(len(d))]),
                          lower=d["tokens_per_s"].to_numpy() - signed)
    if "resilience" not in pm.lp.constraints:
        return
    # resilience rows are per (w, m, t, site): the same options, without the failed site's
    res = pm.lp.constraints["resilience"].labels.reset_index(names="r").merge(
        d[[*PAIR, "t", "d", "tokens_per_s"]], on=[*PAIR, "t"])
    site = opts["provider"] if scn.survive == "provider" else \
        opts["provider"] + "/" + opts["region"]
    opts = opts.assign(site=site, tp=opts["tp"] / opts["workload"].map(util))
    kept = res[["r", "d", "site"]].merge(opts, on="d", suffixes=("", "_o"))
    kept = kept[kept["site_o"] != kept["site"]]
    signed = np.bincount(kept["r"], kept["tp"] * pm.contract_chips[kept["pool"], kept["t"]],
                         minlength=len(res))
    terms = kept.merge(held, on=["pool", "t"])
    pm.lp.add_constraints(
        "cover_resilience", res[[*PAIR, "t", "site"]],
        np.concatenate([terms["r"], res["r"], res["r"]]),
        np.concatenate([terms["col"], pm.lp.variables["unprotected"].ids[res["r"]],
                        unmet[res["d"]]]),
        np.concatenate([terms["tp"] * terms["chips"], np.ones(len(res)),
                        np.full(len(res), scn.keep)]),
        lower=scn.keep * res["tokens_per_s"].to_numpy() - signed)
