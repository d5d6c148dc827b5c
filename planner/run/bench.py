"""Fleet-scale benchmark: reproducible scenarios from a catalog, timed stage by stage.

Sizes (workloads x markets x months): S 3 x 2 x 6, M 8 x 4 x 12, L 20 x 8 x 12, XL 100 x 8 x
24 and XXL 200 x 8 x 36 (a lab's fleet; fractional only); every
offering of the catalog, terms [12, 36], resilience on (losing a provider, or a region
when the catalog has one provider). `-milp` sizes are the same with whole instances.
`T` is a team-sized scenario drawn from the seed (see `team_scenario`): whole instances,
2-4 workloads, 3-5 markets, 12 months, residency, tight or loose SLOs, spot, a share cap,
chip limits and 1-year terms; `--seed` draws another.
Futures (spec section 7): `M-f20` is M across 20 drawn futures as one extensive form,
`M-d200` across 200 futures decomposed by future on the executor's workers.
Each size runs in its own process so that peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import resource
import time
from pathlib import Path

import numpy as np
import yaml

from planner.catalog.read import BUNDLED, load_catalog
from planner.errors import PlanError, closest
from planner.futures.twostage import solve_futures
from planner.model.build import build_model
from planner.model.plan import make_plan
from planner.model.serving import STRICTNESS
from planner.model.solver import SolveOptions
from planner.model.tiers import solve_tiers
from planner.reports.exports import write_csv
from planner.run.executor import executor
from planner.scenario.read import load_scenario

SIZES = {"S": (3, 2, 6, False), "M": (8, 4, 12, False), "L": (20, 8, 12, False),
         "XL": (100, 8, 24, False), "XXL": (200, 8, 36, False),
         "S-milp": (3, 2, 6, True), "M-milp": (8, 4, 12, True), "L-milp": (20, 8, 12, True),
         "T": None}  # drawn: team_scenario
MARKETS = {  # demand centres: (lat, lon, jurisdiction)
    "us-east": (39.0, -77.5, "us"), "us-west": (37.4, -122.1, "us"),
    "eu-central": (50.1, 8.7, "eu"), "eu-west": (53.3, -6.3, "eu"),
    "uk": (51.5, -0.1, "uk"), "japan": (35.7, 139.7, "jp"),
    "singapore": (1.35, 103.8, "sg"), "india": (19.1, 72.9, "in"),
}


TEAM_MODELS = ("llama-2-70b", "llama-3.1-8b", "mixtral-8x7b", "llama-3.1-405b")
TEAM_SLOS = {"tight": {"ttft_ms": 1000, "tpot_ms": 50},  # interactive rows only
             "loose": {"ttft_ms": 2500, "tpot_ms": 200}}


def team_scenario(catalog: Path = BUNDLED / "default", seed: int = 7) -> dict:
    """A team's scenario, drawn from `seed`: 2-4 workloads of the catalog's common models,
    3-5 markets (US first; EU and UK held to their jurisdiction), 12 months, a tight or
    loose SLO each, spot 0 or 10 %, a 0.7 share cap on one provider, chip limits on two
    accelerators, 1-year terms, whole instances."""
    rng = np.random.default_rng(seed)
    names = ["us-east", *map(str, rng.choice(["us-west", "eu-central", "eu-west", "uk",
                                              "japan"], size=int(rng.integers(2, 5)),
                                             replace=False))]
    workloads = {}
    for i in range(int(rng.integers(2, 5))):
        model = TEAM_MODELS[int(rng.integers(0, len(TEAM_MODELS)))]
        base = 2000 if model == "llama-3.1-405b" else 40000
        w = {"model": model, "slo": dict(TEAM_SLOS[str(rng.choice(list(TEAM_SLOS)))]),
             "utilization": 0.7, "spot": float(rng.choice([0.0, 0.1])),
             "demand": {m: {"start": float(base * rng.uniform(0.2, 1.5)),
                            "growth": round(float(rng.uniform(0, 0.06)), 3)} for m in names}}
        if model == "llama-3.1-405b":
            w["slo"] = {"ttft_ms": 6000, "tpot_ms": 175}
        w["residency"] = {m: [MARKETS[m][2]] for m in names if MARKETS[m][2] in ("eu", "uk")}
        if not w["residency"]:
            del w["residency"]
        workloads[f"w{i}"] = w
    return {
        "name": f"team-{seed}", "horizon": {"start": "2027-01", "months": 12},
        "catalog": str(catalog.resolve()),
        "markets": {m: dict(zip(("lat", "lon", "jurisdiction"), MARKETS[m])) for m in names},
        "workloads": workloads,
        "providers": {str(rng.choice(["aws", "lambda", "gcp"])): {"max_share": 0.7}},
        "limits": [{"provider": "aws", "accelerator": "h100-sxm", "chips": 512},
                   {"provider": "lambda", "accelerator": "b200", "chips": 1024}],
        "purchase": {"terms": [12], "integer": True},
    }


def fleet_scenario(size: str, catalog: Path = BUNDLED / "default", seed: int = 7) -> dict:
    """A scenario dict of the given size; the same seed gives the same scenario."""
    if size == "T":
        return team_scenario(catalog, seed)
    workloads, markets, months, integer = SIZES[size]
    rng = np.random.default_rng(seed)
    cat = load_catalog(catalog)
    curve = cat.throughput[cat.throughput["accelerator"].isin(cat.offerings["accelerator"])
                           & (cat.throughput["latency_stat"].map(STRICTNESS).fillna(0)
                              >= STRICTNESS["p99"])]  # rows a p99 SLO (the default) can use
    # models two providers can serve (one, if the catalog has one): else losing the one
    # leaves demand unprotected whatever is bought, and futures cannot be decomposed
    sellers = curve.merge(cat.offerings[["accelerator", "provider"]].drop_duplicates(),
                          on="accelerator").groupby("model")["provider"].nunique()
    models = sorted(sellers[sellers >= min(2, sellers.max())].index)
    names = list(MARKETS)[:markets]
    jurisdictions = {MARKETS[m][2] for m in names}
    spec_workloads = {}
    for i in range(workloads):
        model = models[i % len(models)]
        rows = curve[curve["model"] == model]
        demand = {m: {"start": float(rng.integers(2, 40) * 5000),
                      "growth": round(float(rng.uniform(0, 0.05)), 3)}
                  for m in names if rng.random() < 0.8 or m == names[0]}
        w = {"model": model,
             "slo": {"ttft_ms": float(rows["ttft_ms"].max() + 150),
                     "tpot_ms": float(rows["tpot_ms"].max())},
             "utilization": 0.7, "demand": demand, "spot": 0.2}
        if i % 3 == 0 and "eu" in jurisdictions:
            w["residency"] = {m: ["eu"] for m in demand if MARKETS[m][2] == "eu"}
        spec_workloads[f"w{i:02d}"] = w
    return {
        "name": f"fleet-{size}", "horizon": {"start": "2027-01", "months": months},
        "catalog": str(catalog.resolve()),
        "markets": {m: dict(zip(("lat", "lon", "jurisdiction"), MARKETS[m])) for m in names},
        "workloads": spec_workloads,
        "purchase": {"terms": [12, 36], "integer": integer},
        # survive a provider where the catalog has several, else a region
        "resilience": {"survive": "provider" if cat.offerings["provider"].nunique() > 1
                       else "region", "keep": 0.5},
    }


FUTURES = re.compile(r"^(S|M|L)(-milp)?-([fd])(\d+)$")


def measure_futures(size: str, folder: Path, seed: int, time_limit: float | None,
                    where: tuple, catalog: Path = BUNDLED / "default") -> dict:
    """A size across drawn futures: extensive form (-fN) or decomposed by future (-dN)."""
    base, milp, form, count = FUTURES.match(size).groups()
    spec = fleet_scenario(base + (milp or ""), catalog, seed)
    spec["uncertainty"] = {"sample": {"count": int(count), "seed": seed, "level_sd": 0.15,
                                      "growth_sd": 0.02}}
    path = folder / f"fleet-{size}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = time.perf_counter()
    scn = load_scenario(path)
    with executor(*where) as pool:
        fp = solve_futures(scn, SolveOptions(time_limit=time_limit), run_map=pool.map,
                           values=False,
                           decompose=form == "d")
    total = time.perf_counter() - started
    mib = {who: round(resource.getrusage(who).ru_maxrss / 1024, 1)
           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)}
    return {"size": size, "status": fp.status, "total_cost": round(fp.expected_cost, 2),
            "gap": float(f"{fp.solver['gap']:.2g}"), "futures": len(fp.plans),
            "iterations": fp.solver.get("iterations"), "variables": fp.solver.get("variables"),
            "total_s": round(total, 3), "peak_mib": mib[resource.RUSAGE_SELF],
            "worker_peak_mib": mib[resource.RUSAGE_CHILDREN],
            **(amdahl(fp.solver, where[0]) if "futures_s" in fp.solver else {})}


def amdahl(figures: dict, workers: int) -> dict:
    """The decomposition's serial part: its seconds less the futures' solves spread evenly
    over `workers` (master, cuts, the first y, moving data, waiting for the slowest); its
    share s of the work on one worker; the speed-up s allows on N workers, 1/(s + (1-s)/N)."""
    parallel = figures["futures_s"]
    serial = max(figures["seconds"] - parallel / workers, 0.0)
    share = serial / max(serial + parallel, 1e-9)
    return {"decomposition_s": figures["seconds"], "serial_s": round(serial, 3),
            "futures_s": parallel,
            **{k: figures[k] for k in ("setup_s", "master_s", "cuts_s")},
            "moving_s": round(max(figures["map_s"] - parallel / workers, 0.0), 3),
            "serial_fraction": round(share, 4),
            **{f"speedup_{n}": round(1 / (share + (1 - share) / n), 2) for n in (4, 16, 64)}}


def measure(size: str, folder: Path, seed: int = 7, time_limit: float | None = None,
            where: tuple = (1, None), catalog: Path = BUNDLED / "default") -> dict:
    """Run one size through every stage and time each."""
    if FUTURES.match(size):
        return measure_futures(size, folder, seed, time_limit, where, catalog)
    path = folder / f"fleet-{size}.yaml"
    path.write_text(yaml.safe_dump(fleet_scenario(size, catalog, seed), sort_keys=False))
    marks = [time.perf_counter()]
    scn = load_scenario(path)
    marks.append(time.perf_counter())
    pm = build_model(scn)
    marks.append(time.perf_counter())
    sol = solve_tiers(pm, time_limit=time_limit)
    marks.append(time.perf_counter())
    plan = make_plan(pm, sol)
    write_csv(plan, folder / f"fleet-{size}")
    marks.append(time.perf_counter())
    load, build, _, report = np.diff(marks)
    return {"size": size, "status": plan.status, "total_cost": round(plan.total_cost, 2),
            "gap": float(f"{sol.gap:.2g}"), "to_1pct_s": _time_to(sol.trace, 1e-2),
            "to_0.1pct_s": _time_to(sol.trace, 1e-3),
            "variables": pm.lp.n_cols, "constraints": pm.lp.n_rows,
            "nonzeros": int(pm.lp.arrays()["A"].nnz),
            "load_s": round(load, 3), "build_s": round(build, 3),
            "handoff_s": round(sol.handoff_seconds, 3), "solve_s": round(sol.seconds, 3),
            "report_s": round(report, 3), "total_s": round(marks[-1] - marks[0], 3),
            "end_to_end_over_solve": round((marks[-1] - marks[0]) / max(sol.seconds, 1e-9), 2),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _time_to(trace: list[tuple[float, float, float]], gap: float) -> float | None:
    """Seconds from the first LP to the first plan proven within `gap` of its bound."""
    for seconds, cost, bound in trace:
        if cost - bound <= gap * cost:
            return seconds
    return None


def _child(queue, *args) -> None:
    queue.put(measure(*args))


def check_sizes(sizes: list[str]) -> None:
    for size in sizes:
        if size not in SIZES and not FUTURES.match(size):
            raise PlanError(closest(size, [*SIZES, "M-f20", "M-d200"], "size") +
                            " (or <size>-f<futures>, <size>-d<futures>)", path="SIZE")


def run(sizes: list[str], folder: Path, seed: int = 7, time_limit: float | None = None,
        where: tuple = (1, None)) -> list[dict]:
    """Measure each size in a fresh process (`where`: the executor for futures' solves)."""
    check_sizes(sizes)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    results = []
    for size in sizes:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue, size, folder, seed, time_limit, where))
        proc.start()
        results.append(queue.get())
        proc.join()
    return results
