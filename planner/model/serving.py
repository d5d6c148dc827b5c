"""Who can serve what: round trips, operating points and prices, pruned before modelling.

Spec section 4: rtt_ms = 0.015 x great-circle km (haversine, R = 6371 km) unless the
scenario overrides it. The rows of a workload w are the throughput rows of its model and of
the models it is `measured_on`, measured alike (section 8: statistic, precision, request
shape). A row r serves market m from a site only if ttft_ms(r) + rtt_ms <= slo.ttft_ms and
tpot_ms(r) <= slo.tpot_ms; residency and allow-lists remove pairs. Its replica size is the
row's chips_per_replica, else the smallest power of two of chips whose memory holds the
workload's own model's weights x (1 + memory_headroom). Prices per chip-hour are instance
prices / chips, less the provider discount.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from planner.scenario.read import Scenario

EARTH_RADIUS_KM = 6371.0
RTT_MS_PER_KM = 0.015
PAIR = ["workload", "market"]
SITE = ["provider", "region", "accelerator"]


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float))
                              for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + \
        np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def demand_pairs(scn: Scenario) -> pd.DataFrame:
    """(workload, market) pairs with demand in some month, with the workload's settings."""
    rows = [{"workload": w.name, "market": m, "slo_ttft": w.ttft_ms, "slo_tpot": w.tpot_ms}
            for w in scn.workloads.values() for m, d in w.demand.items() if d.max() > 0]
    return pd.DataFrame(rows, columns=[*PAIR, "slo_ttft", "slo_tpot"])


MAX_REPLICA_CHIPS = 2**12  # no instance or pool of the catalog is larger


def bytes_per_param(precision: str) -> float:
    """Spec section 2: 4 fp32; 2 bf16, fp16 or unstated; 1 fp8, int8; 0.5 fp4, int4 (and
    their variants: nvfp4, mxfp4, fp8_e4m3 by their bits)."""
    bits = re.search(r"(?:fp|int)(\d+)", precision or "")
    return int(bits.group(1)) / 8 if bits and int(bits.group(1)) in (4, 8, 16, 32) else 2.0


def replica_size(needed_gb: float, memory_gb: float) -> int:
    """The smallest power of two of chips of `memory_gb` holding `needed_gb`."""
    chips = max(needed_gb / memory_gb, 1.0)
    return int(min(2 ** np.ceil(np.log2(chips) - 1e-12), MAX_REPLICA_CHIPS))


def workload_rows(scn: Scenario) -> pd.DataFrame:
    """Every (workload, throughput row) measured alike, with the replica size it needs.

    Columns: workload, row (throughput index), accelerator, measured_model, tp (tokens/s
    per chip), ttft_ms, tpot_ms, latency_stat, precision, size (chips per replica), given
    (the row gave it), needed_gb (weights x (1 + headroom) of the workload's own model; NaN
    when the catalog does not know its parameters, and then a one-chip replica unless the
    row says), headroom."""
    thr = scn.catalog.throughput
    params = scn.catalog.models.set_index("id")["params_b"].astype(float)
    memory = scn.catalog.accelerators.set_index("id")["memory_gb"].astype(float)
    links = pd.DataFrame([(w.name, m, w.model, w.memory_headroom)
                          for w in scn.workloads.values() for m in w.row_models],
                         columns=["workload", "model", "own_model", "headroom"])
    rows = links.merge(thr.reset_index(names="row"), on="model")
    rows = rows[measured_alike(scn, rows)]
    weights = rows["own_model"].map(params) * rows["precision"].map(bytes_per_param)
    rows["needed_gb"] = weights * (1 + rows["headroom"])
    mem = rows["accelerator"].map(memory).to_numpy()
    derived = [replica_size(n, g) if np.isfinite(n) else 1
               for n, g in zip(rows["needed_gb"].to_numpy(), mem)]
    given = rows["chips_per_replica"].to_numpy(dtype=float)
    rows["given"] = np.isfinite(given)
    rows["size"] = np.where(rows["given"], given, derived).astype(int)
    rows = rows.rename(columns={"model": "measured_model",
                                "tokens_per_s_per_chip": "tp"})
    return rows[["workload", "row", "accelerator", "measured_model", "tp", "ttft_ms",
                 "tpot_ms", "latency_stat", "precision", "size", "given", "needed_gb",
                 "headroom"]].reset_index(drop=True)


STRICTNESS = {"p50": 1, "p90": 2, "p95": 3, "p99": 4, "limit": 4, "": 4}


def measured_alike(scn: Scenario, rows: pd.DataFrame) -> np.ndarray:
    """Which (workload, throughput row) pairs compare like with like (spec section 8):
    the row's latency statistic is the SLO's percentile or stricter (`limit`, and a row that
    does not say, count as p99; `mean` serves only a mean SLO); its precision is allowed;
    for a request bucket, its request shape is at least as long in input and output."""
    ok = np.ones(len(rows), dtype=bool)
    stat = rows["latency_stat"].fillna("")
    for w in scn.workloads.values():
        mine = (rows["workload"] == w.name).to_numpy()
        if w.percentile == "mean":
            good = stat == "mean"
        else:
            good = stat.map(STRICTNESS).fillna(0) >= STRICTNESS[w.percentile]
        if w.precision is not None:
            good &= rows["precision"].isin(w.precision)
        if w.shape is not None:
            good &= (rows["input_tokens"] >= w.shape[0]) & (rows["output_tokens"] >= w.shape[1])
        ok &= ~mine | good.to_numpy()
    return ok


def candidates(scn: Scenario, sites: pd.DataFrame) -> pd.DataFrame:
    """Every (workload, market) with demand x site, with why it may or may not serve.

    Columns: workload, market, provider, region, accelerator, jurisdiction, listed (the
    workload's allow-lists admit it), resident (residency admits it), rtt_ms, and tp (the
    best throughput meeting the SLO at this round trip; NaN where no row does).
    """
    cand, rows = _candidate_rows(scn, sites)
    cand["tp"] = rows.groupby("c")["tp"].max().reindex(cand.index)
    return cand[[*PAIR, *SITE, "jurisdiction", "listed", "resident", "rtt_ms", "tp"]]


def operating_points(scn: Scenario, sites: pd.DataFrame) -> pd.DataFrame:
    """Every usable (workload, market, site, row): allow-lists and residency admit the
    site, and the row meets the SLO at its round trip. Columns: workload, market, provider,
    region, accelerator, rtt_ms and the columns of `workload_rows`."""
    cand, rows = _candidate_rows(scn, sites)
    ok = (cand["listed"] & cand["resident"]).to_numpy()
    rows = rows[ok[rows["c"].to_numpy()]]
    return rows.drop(columns=["c", "slo_ttft", "slo_tpot", "lat", "lon", "jurisdiction",
                              "given", "headroom"]).reset_index(drop=True)


def _candidate_rows(scn: Scenario, sites: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidates without tp, their rows meeting the SLO: one per (candidate c, row))."""
    pairs = demand_pairs(scn)
    regions = scn.catalog.regions[["provider", "region", "lat", "lon", "jurisdiction"]]
    sites = sites[SITE].drop_duplicates().merge(regions, on=["provider", "region"])
    cand = pairs.merge(sites, how="cross")
    listed, resident = _allowed(scn, cand)

    markets = scn.markets.loc[cand["market"]]
    rtt = great_circle_km(markets["lat"], markets["lon"], cand["lat"], cand["lon"])
    rtt = rtt * RTT_MS_PER_KM
    if scn.rtt_ms:
        keys = pd.MultiIndex.from_frame(cand[["market", "provider", "region"]])
        override = pd.Series(scn.rtt_ms).reindex(keys).to_numpy()
        rtt = np.where(np.isnan(override), rtt, override)
    cand = cand.assign(listed=listed, resident=resident, rtt_ms=rtt)
    rows = cand.reset_index(names="c").merge(workload_rows(scn), on=["workload", "accelerator"])
    rows = rows[(rows["ttft_ms"] + rows["rtt_ms"] <= rows["slo_ttft"])
                & (rows["tpot_ms"] <= rows["slo_tpot"])]
    return cand, rows


def _allowed(scn: Scenario, cand: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(allow-lists admit, residency admits) per candidate row."""
    listed = np.ones(len(cand), dtype=bool)
    resident = np.ones(len(cand), dtype=bool)
    for w in scn.workloads.values():
        mine = (cand["workload"] == w.name).to_numpy()
        if w.providers is not None:
            listed &= ~mine | cand["provider"].isin(w.providers).to_numpy()
        if w.accelerators is not None:
            listed &= ~mine | cand["accelerator"].isin(w.accelerators).to_numpy()
        for m, allowed in w.residency.items():
            here = mine & (cand["market"] == m).to_numpy()
            resident &= ~here | cand["jurisdiction"].isin(allowed).to_numpy()
    return listed, resident


def priced_offerings(scn: Scenario) -> pd.DataFrame:
    """Offerings with per-chip-hour prices of every kind the scenario may buy.

    Columns: provider, region, instance, accelerator, chips, on-demand, spot (NaN where not
    sold) and commit-<L> for each purchase term L (NaN where that term is not sold).
    """
    off = scn.catalog.offerings
    disc = 1 - off["provider"].map(scn.discount).fillna(0.0)
    out = off[["provider", "region", "instance", "accelerator", "chips"]].copy()
    out["chips"] = out["chips"].astype(int)
    list_price = off["on_demand_hourly"] / out["chips"]
    out["on-demand"] = list_price * disc
    out["spot"] = off["spot_hourly"] / out["chips"] * disc
    com = scn.catalog.commitments
    for term in scn.terms:
        rows = com[com["term_months"] == term]
        wide = rows[rows["accelerator"] == ""].set_index("provider")["discount"]
        own = rows[rows["accelerator"] != ""].set_index(["provider", "accelerator"])["discount"]
        keys = pd.MultiIndex.from_frame(out[["provider", "accelerator"]])
        discount = own.reindex(keys).to_numpy()
        discount = np.where(np.isnan(discount), out["provider"].map(wide).to_numpy(dtype=float),
                            discount)
        out[f"commit-{term}"] = list_price.to_numpy() * (1 - discount) * disc.to_numpy()
    return out
