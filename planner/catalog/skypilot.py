"""Import offerings from a SkyPilot catalog vms.csv (one per cloud) into our tables.

SkyPilot lists one row per instance type, region and availability zone with columns
InstanceType, AcceleratorName, AcceleratorCount, Price, SpotPrice, Region (and more). GCP
TPUs come as AcceleratorName `tpu-<version>-<size>` priced per slice with no InstanceType.
We keep one row per (region, instance): the on-demand price, and the lowest spot price over
the region's zones. Regions need coordinates, which SkyPilot does not carry: offerings in
regions missing from the target catalog's regions.csv are left out and reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from planner.errors import PlanError

ACCELERATORS = {  # SkyPilot AcceleratorName -> our accelerator id
    "H100": "h100-sxm", "H100-MEGA": "h100-sxm", "H200": "h200", "B200": "b200",
    "A100-80GB": "a100-80gb", "A100": "a100-40gb", "L4": "l4", "L40S": "l40s",
    "A10G": "a10g", "MI300X": "mi300x", "Trainium": "trn1", "Trainium2": "trn2",
    "Inferentia2": "inf2",
}
TPU = re.compile(r"^tpu-(v5litepod|v5e|v5p|v6e)-(\d+)$")
TPU_IDS = {"v5litepod": "tpu-v5e", "v5e": "tpu-v5e", "v5p": "tpu-v5p", "v6e": "tpu-v6e"}
TPU_CORES_PER_CHIP = {"v5p": 2}  # v5p-N counts TensorCores: N / 2 chips
REQUIRED = ["InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "SpotPrice",
            "Region"]
OFFERING_COLUMNS = ["provider", "region", "instance", "accelerator", "chips",
                    "on_demand_hourly", "spot_hourly", "source", "as_of"]


def read_vms(path: Path, provider: str, source: str, as_of: str) -> pd.DataFrame:
    """Offerings (our columns) from one SkyPilot vms.csv, accelerators we know only."""
    try:
        raw = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanError(f"not a readable SkyPilot vms.csv ({exc})", file=str(path)) from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise PlanError(f"missing column(s) {', '.join(missing)}", file=str(path), line=1)
    rows = raw[raw["Price"].gt(0)].copy()
    names = rows["AcceleratorName"].fillna("").astype(str)
    rows["accelerator"] = names.map(ACCELERATORS)
    rows["chips"] = pd.to_numeric(rows["AcceleratorCount"], errors="coerce")
    tpu = names.str.extract(TPU)
    is_tpu = tpu[0].notna()
    rows.loc[is_tpu, "accelerator"] = tpu.loc[is_tpu, 0].map(TPU_IDS)
    rows.loc[is_tpu, "chips"] = tpu.loc[is_tpu, 1].astype(int) // tpu.loc[is_tpu, 0].map(
        TPU_CORES_PER_CHIP).fillna(1).astype(int)
    rows["instance"] = rows["InstanceType"].where(rows["InstanceType"].notna() & ~is_tpu,
                                                  names)
    rows = rows[rows["accelerator"].notna() & rows["chips"].gt(0)]
    out = rows.groupby(["Region", "instance"], as_index=False).agg(
        accelerator=("accelerator", "first"), chips=("chips", "first"),
        on_demand_hourly=("Price", "max"), spot_hourly=("SpotPrice", "min"))
    out = out.rename(columns={"Region": "region"}).assign(
        provider=provider, source=source, as_of=as_of)
    out["chips"] = out["chips"].astype(int)
    return out[OFFERING_COLUMNS].sort_values(["region", "instance"], ignore_index=True)


def import_vms(path: Path, provider: str, catalog: Path, source: str | None,
               as_of: str) -> tuple[pd.DataFrame, list[str]]:
    """Write `catalog/offerings/<provider>.csv` from `path`; return it and the regions left
    out for want of coordinates in `catalog/regions.csv`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        raise PlanError(f"--as-of: expected a date YYYY-MM-DD, got {as_of!r}")
    offers = read_vms(path, provider, source or f"SkyPilot catalog {path.as_posix()}", as_of)
    regions_file = catalog / "regions.csv"
    known = pd.read_csv(regions_file) if regions_file.is_file() else pd.DataFrame(
        columns=["provider", "region"])
    here = set(known.loc[known["provider"] == provider, "region"])
    left_out = sorted(set(offers["region"]) - here)
    offers = offers[offers["region"].isin(here)]
    folder = catalog / "offerings"
    folder.mkdir(parents=True, exist_ok=True)
    offers.to_csv(folder / f"{provider}.csv", index=False)
    return offers, left_out
