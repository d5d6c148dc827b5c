"""Tiny hand-made catalogs and scenarios whose optimal costs are worked out by hand.

Base catalog (prices per instance-hour, 8 chips each, so per chip-hour in brackets):
  aws us-east-1    p5  h100-sxm  on-demand 80 (10)  spot 40 (5)
  aws eu-central-1 p5  h100-sxm  on-demand 96 (12)
  gcp us-central1  a3  h100-sxm  on-demand 88 (11)  spot 30 (3.75)
Throughput of h100-sxm on `llama`: 1000 tok/s at ttft 500 / tpot 50, 2000 at 1950 / 150.
February 2027 has 672 hours, January 744, the year 2027 8760.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import planner

SRC = "test,2025-01-01"
TABLES = {
    "accelerators": ["id,vendor,family,memory_gb,source,as_of",
                     f"h100-sxm,nvidia,gpu,80,{SRC}", f"trn2,aws,trainium,96,{SRC}"],
    "regions": ["provider,region,lat,lon,jurisdiction,source,as_of",
                f"aws,us-east-1,39.0,-77.5,us,{SRC}", f"aws,eu-central-1,50.1,8.7,eu,{SRC}",
                f"gcp,us-central1,39.0,-77.5,us,{SRC}"],
    "offerings": [("provider,region,instance,accelerator,chips,on_demand_hourly,spot_hourly,"
                   "source,as_of"),
                  f"aws,us-east-1,p5,h100-sxm,8,80,40,{SRC}",
                  f"aws,eu-central-1,p5,h100-sxm,8,96,,{SRC}",
                  f"gcp,us-central1,a3,h100-sxm,8,88,30,{SRC}"],
    "commitments": ["provider,accelerator,term_months,discount,source,as_of",
                    f"aws,,12,0.3,{SRC}", f"aws,h100-sxm,12,0.4,{SRC}"],
    "throughput": ["accelerator,model,tokens_per_s_per_chip,ttft_ms,tpot_ms,source,as_of",
                   f"h100-sxm,llama,1000,500,50,{SRC}", f"h100-sxm,llama,2000,1950,150,{SRC}"],
}

MARKETS = """
markets:
  us-east: {lat: 39.0, lon: -77.5, jurisdiction: us}
  eu: {lat: 50.1, lon: 8.7, jurisdiction: eu}
"""


def write_case(folder: Path, body: str, replace: dict | None = None,
               **extra: list[str]) -> Path:
    """The base catalog (tables in `replace` swapped, `extra` rows appended) in folder/cat
    and a scenario of `body` on the markets above using it: the scenario's path."""
    cat = folder / "cat"
    cat.mkdir(parents=True, exist_ok=True)
    for name, lines in TABLES.items():
        rows = (replace or {}).get(name, lines)
        rows = rows + [f"{r},{SRC}" for r in extra.get(name, [])]
        (cat / f"{name}.csv").write_text("\n".join(rows) + "\n")
    path = folder / "s.yaml"
    path.write_text("catalog: cat\n" + MARKETS + textwrap.dedent(body))
    return path


@pytest.fixture
def make(tmp_path: Path):
    """make(yaml_body, **table_rows) -> scenario path; extra rows are appended to a table."""
    def build(body: str, replace: dict | None = None, **extra: list[str]) -> Path:
        return write_case(tmp_path, body, replace, **extra)
    return build


def workload(demand: str, slo: str = "{ttft_ms: 2000, tpot_ms: 200}", **extra: str) -> str:
    lines = [f"    {k}: {v}" for k, v in extra.items()]
    return "\n".join(["workloads:", "  chat:", "    model: llama", f"    slo: {slo}",
                      f"    demand: {demand}", *lines]) + "\n"


def cost(path: Path, **kwargs) -> float:
    return planner.solve(path, **kwargs).total_cost
