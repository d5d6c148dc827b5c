"""Uncertain demand (spec section 7): named or drawn futures, each a demand multiplier.

```yaml
uncertainty:
  futures:                                  # probabilities sum to 1
    low:  {probability: 0.25, demand: 0.8}  # a number, or one number per month
    base: {probability: 0.5}
    high: {probability: 0.25, demand: {chat: 1.5, batch: {us-east: 1.3}}}
  # or: sample: {count: 200, seed: 7, level_sd: 0.15, growth_sd: 0.02}
  risk: {cvar_weight: 0.0, alpha: 0.9}
```
A drawn future scales each workload's demand (all its markets together) by
    level x growth_t,  level = exp(level_sd Z - level_sd^2 / 2),
    growth_t = exp(sum_{u <= t} (growth_sd Z_u - growth_sd^2 / 2))
with independent standard normal Z, Z_u (numpy default_rng(seed), drawn per future in
order: one Z, then Z_1..Z_T, per workload in the scenario's order). Each factor has mean 1,
so the expected demand is the demand as written. Drawn futures are equally likely.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

MAX_FUTURES = 10_000


@dataclass(frozen=True)
class Futures:
    names: tuple[str, ...]
    probability: np.ndarray  # per future, sums to 1
    multiplier: dict[tuple[str, str], np.ndarray]  # (workload, market) -> futures x months
    cvar_weight: float = 0.0
    alpha: float = 0.9

    def __len__(self) -> int:
        return len(self.names)


def read_uncertainty(r, value: object, workloads: dict, months: int) -> Futures:
    """The `uncertainty:` mapping, checked key by key (`r` is the scenario's reader)."""
    path = ("uncertainty",)
    spec = r.mapping(path, value, ("futures", "sample", "risk"))
    if ("futures" in spec) == ("sample" in spec):
        raise r.error(path, "expected either 'futures' or 'sample' (one of the two)")
    pairs = sorted({(wl.family, m) for wl in workloads.values() for m in wl.demand})
    workloads = {wl.family: wl for wl in workloads.values()}  # multipliers name workloads
    if "futures" in spec:
        names, probability, mult = _named(r, (*path, "futures"), spec["futures"], workloads,
                                          pairs, months)
    else:
        names, probability, mult = _sampled(r, (*path, "sample"), spec["sample"], workloads,
                                            pairs, months)
    risk = r.mapping((*path, "risk"), spec.get("risk", {}), ("cvar_weight", "alpha"))
    weight = r.number((*path, "risk", "cvar_weight"), risk.get("cvar_weight", 0.0), 0, 1)
    alpha = r.number((*path, "risk", "alpha"), risk.get("alpha", 0.9), 0, 1)
    if alpha >= 1:
        raise r.expect((*path, "risk", "alpha"), "a number >= 0 and < 1", risk["alpha"])
    return Futures(tuple(names), np.asarray(probability, dtype=float), mult, weight, alpha)


def _named(r, path, value, workloads, pairs, months):
    table = r.table(path, value)
    if len(table) > MAX_FUTURES:
        raise r.error(path, f"expected at most {MAX_FUTURES} futures, got {len(table)}")
    names, probability = [], []
    mult = {pair: np.ones((len(table), months)) for pair in pairs}
    for f, (name, spec) in enumerate(table.items()):
        fpath = (*path, name)
        spec = r.mapping(fpath, spec if spec is not None else {}, ("probability", "demand"),
                         ("probability",))
        names.append(name)
        probability.append(r.number((*fpath, "probability"), spec["probability"], 0, 1))
        _multiplier(r, (*fpath, "demand"), spec.get("demand", 1.0), workloads, pairs, months,
                    mult, f)
    total = sum(probability)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise r.error(path, f"expected probabilities that sum to 1, got {total:g}")
    return names, probability, mult


def _multiplier(r, path, value, workloads, pairs, months, mult, f, workload=None) -> None:
    """A number, a list (one per month), per workload, or per workload and market."""
    if isinstance(value, dict):
        if workload is None:
            for w, sub in value.items():
                r.name((*path, w), w, set(workloads), "workload")
                _multiplier(r, (*path, w), sub, workloads, pairs, months, mult, f, w)
            return
        for m, sub in value.items():
            r.name((*path, m), m, set(workloads[workload].demand), f"market of {workload}")
            mult[(workload, m)][f] = _factors(r, (*path, m), sub, months)
        return
    factors = _factors(r, path, value, months)
    for pair in pairs:
        if workload is None or pair[0] == workload:
            mult[pair][f] = factors


def _factors(r, path, value, months) -> np.ndarray:
    if isinstance(value, list):
        if len(value) != months:
            raise r.error(path, f"expected a list of {months} multipliers (one per horizon "
                                f"month), got {len(value)}")
        return np.array([r.number((*path, i), v, 0, 1e6, low_open=True)
                         for i, v in enumerate(value)])
    if isinstance(value, dict) or value is None:
        raise r.expect(path, "a positive multiplier, or a list of one per month", value)
    return np.full(months, r.number(path, value, 0, 1e6, low_open=True))


def _sampled(r, path, value, workloads, pairs, months):
    spec = r.mapping(path, value, ("count", "seed", "level_sd", "growth_sd"), ("count",))
    count = r.integer((*path, "count"), spec["count"])
    if count > MAX_FUTURES:
        raise r.expect((*path, "count"), f"at most {MAX_FUTURES}", count)
    seed = r.integer((*path, "seed"), spec.get("seed", 0), low=0)
    level_sd = r.number((*path, "level_sd"), spec.get("level_sd", 0.0), 0, 2)
    growth_sd = r.number((*path, "growth_sd"), spec.get("growth_sd", 0.0), 0, 1)
    return draw(list(workloads), pairs, months, count, seed, level_sd, growth_sd)


def draw(workloads: list[str], pairs: list[tuple[str, str]], months: int, count: int,
         seed: int, level_sd: float, growth_sd: float):
    """(names, probabilities, multipliers) of `count` equally likely drawn futures."""
    rng = np.random.default_rng(seed)
    factor = np.empty((count, len(workloads), months))
    for f in range(count):
        for i in range(len(workloads)):
            level = math.exp(level_sd * rng.standard_normal() - level_sd ** 2 / 2)
            shocks = growth_sd * rng.standard_normal(months) - growth_sd ** 2 / 2
            factor[f, i] = level * np.exp(np.cumsum(shocks))
    index = {w: i for i, w in enumerate(workloads)}
    mult = {pair: factor[:, index[pair[0]], :] for pair in pairs}
    width = len(str(count))
    names = [f"f{f + 1:0{width}d}" for f in range(count)]
    return names, np.full(count, 1 / count), mult


def future_scenario(scn, f: int | None = None, multiplier=None):
    """The deterministic scenario of future `f` (or of the expected demand when f is None,
    or of explicit `multiplier`s per (workload, market)): demand scaled, no futures."""
    fut: Futures = scn.futures
    workloads = {}
    for name, w in scn.workloads.items():
        demand = {}
        for m, d in w.demand.items():
            key = (w.family, m)  # a request bucket moves with its workload
            if multiplier is not None:
                k = multiplier[key]
            elif f is None:
                k = fut.probability @ fut.multiplier[key]
            else:
                k = fut.multiplier[key][f]
            demand[m] = d * k
        workloads[name] = dataclasses.replace(w, demand=demand)
    label = "expected demand" if f is None else fut.names[f]
    return dataclasses.replace(scn, workloads=workloads, futures=None,
                               name=f"{scn.name} [{label}]")
