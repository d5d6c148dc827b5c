"""Catalog: the CSV tables of spec section 2, read and checked.

A table is ``<name>.csv`` or a folder ``<name>/`` of CSV files with the same columns.
Every check reports ``file:line: column: expected ..., got X`` through PlanError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.errors import PlanError, closest

FAMILIES = ("gpu", "tpu", "trainium", "inferentia")
_HERE = Path(__file__).resolve().parent
# Installed wheels carry the catalogs inside the package; a source tree has them beside it.
BUNDLED = next((p for p in (_HERE / "catalogs", _HERE.parent / "catalogs") if p.is_dir()),
               _HERE / "catalogs")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "name", "text", "number", "integer", "date", "choice"
    required: bool = True  # may the cell be empty
    low: float | None = None  # inclusive lower bound
    high: float | None = None  # exclusive upper bound
    low_open: bool = False  # lower bound exclusive
    choices: tuple[str, ...] = ()
    optional: bool = False  # may be absent from a table's header (then every cell is empty)


def _cols(*columns: Column) -> tuple[Column, ...]:
    return (*columns, Column("source", "text"), Column("as_of", "date"))


POSITIVE = {"low": 0, "low_open": True}
LATENCY_STATS = ("limit", "p99", "p95", "p90", "p50", "mean")
# Spec section 8: what ttft_ms and tpot_ms are, and the request shape they were measured at.
MEASUREMENT = (Column("latency_stat", "choice", required=False, optional=True,
                      choices=LATENCY_STATS),
               Column("precision", "name", required=False, optional=True),
               Column("input_tokens", "number", required=False, optional=True, **POSITIVE),
               Column("output_tokens", "number", required=False, optional=True, **POSITIVE),
               Column("concurrency", "number", required=False, optional=True, **POSITIVE),
               Column("stack", "text", required=False, optional=True))
SCHEMA: dict[str, tuple[Column, ...]] = {
    "accelerators": _cols(Column("id", "name"), Column("vendor", "name"),
                          Column("family", "choice", choices=FAMILIES),
                          Column("memory_gb", "number", **POSITIVE)),
    "regions": _cols(Column("provider", "name"), Column("region", "name"),
                     Column("lat", "number", low=-90, high=90.000001),
                     Column("lon", "number", low=-180, high=180.000001),
                     Column("jurisdiction", "name")),
    "offerings": _cols(Column("provider", "name"), Column("region", "name"),
                       Column("instance", "name"), Column("accelerator", "name"),
                       Column("chips", "integer", **POSITIVE),
                       Column("on_demand_hourly", "number", low=0),
                       Column("spot_hourly", "number", required=False, low=0)),
    "commitments": _cols(Column("provider", "name"),
                         Column("accelerator", "name", required=False),
                         Column("term_months", "integer", **POSITIVE),
                         Column("discount", "number", low=0, high=1)),
    "throughput": (*_cols(Column("accelerator", "name"), Column("model", "name"),
                          Column("tokens_per_s_per_chip", "number", **POSITIVE),
                          Column("ttft_ms", "number", **POSITIVE),
                          Column("tpot_ms", "number", **POSITIVE)), *MEASUREMENT),
}
KEYS = {
    "accelerators": ["id"],
    "regions": ["provider", "region"],
    "offerings": ["provider", "region", "instance"],
    "commitments": ["provider", "accelerator", "term_months"],
    # one row per measurement condition: two shapes, precisions or stacks may coexist
    "throughput": ["accelerator", "model", "ttft_ms", "tpot_ms",
                   *(c.name for c in MEASUREMENT)],
}


@dataclass(frozen=True)
class Catalog:
    """The five tables as DataFrames (plus hidden `_file`/`_line` columns for messages)."""

    path: Path
    accelerators: pd.DataFrame
    regions: pd.DataFrame
    offerings: pd.DataFrame
    commitments: pd.DataFrame
    throughput: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


def resolve(name: str, relative_to: Path | None = None) -> Path:
    """A folder relative to the scenario file; else `catalogs/<name>/` in the nearest folder
    above the scenario that has one (a checkout's own copy, which its team edits); else the
    bundled catalog of that name."""
    base = (relative_to if relative_to is not None else Path.cwd()).resolve()
    candidate = (base / name) if not Path(name).is_absolute() else Path(name)
    if candidate.is_dir():
        return candidate
    for folder in (base, *base.parents):
        if (folder / "catalogs" / name).is_dir():
            return folder / "catalogs" / name
    if (BUNDLED / name).is_dir():
        return BUNDLED / name
    raise PlanError(f"catalog folder not found: {candidate} (bundled: "
                    f"{', '.join(sorted(p.name for p in BUNDLED.iterdir() if p.is_dir()))})")


def load_catalog(path: str | Path) -> Catalog:
    """Read and check every table of the catalog folder `path`."""
    path = Path(path)
    if not path.is_dir():
        raise PlanError(f"catalog folder not found: {path}")
    tables = {name: read_table(path, name) for name in SCHEMA}
    catalog = Catalog(path, **tables)
    _check_references(catalog)
    return catalog


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """One table of the catalog folder, every file checked, duplicates refused."""
    files = sorted((folder / name).glob("*.csv")) if (folder / name).is_dir() else \
        [folder / f"{name}.csv"]
    if not files or not files[0].is_file():
        raise PlanError(f"catalog table missing: expected {folder / name}.csv "
                        f"or a folder {folder / name}/ of CSV files")
    frames = [_read_csv(f, SCHEMA[name]) for f in files]
    table = pd.concat(frames, ignore_index=True)
    _check_duplicates(table, KEYS[name])
    return table


def _read_csv(file: Path, columns: tuple[Column, ...]) -> pd.DataFrame:
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise PlanError(f"not a readable CSV table ({str(exc).strip().splitlines()[-1]})",
                        file=str(file)) from None
    missing = [c.name for c in columns if c.name not in raw.columns and not c.optional]
    if missing:
        raise PlanError(f"missing column(s) {', '.join(missing)}; the header has "
                        f"{', '.join(raw.columns)}", file=str(file), line=1)
    absent = pd.Series("", index=raw.index, dtype=str)
    table = pd.DataFrame({c.name: _parse_column(raw.get(c.name, absent).str.strip(), c, file)
                          for c in columns})
    table["_file"], table["_line"] = str(file), raw.index.to_numpy() + 2
    return table


def _parse_column(cells: pd.Series, col: Column, file: Path) -> pd.Series:
    empty = cells == ""

    def fail(bad: pd.Series, expected: str) -> None:
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise PlanError(f"expected {expected}, got {cells.iloc[row]!r}",
                            file=str(file), line=row + 2, path=col.name)

    if col.required:
        fail(empty, f"a {col.kind if col.kind != 'choice' else 'value'} (the cell is empty)")
    if col.kind in ("name", "text"):
        return cells
    if col.kind == "choice":
        fail(~cells.isin(col.choices) & ~empty, "one of " + ", ".join(col.choices))
        return cells
    if col.kind == "date":
        dates = pd.to_datetime(cells, format="%Y-%m-%d", errors="coerce")
        fail(dates.isna() & ~empty, "a date YYYY-MM-DD")
        return cells
    values = pd.to_numeric(cells.where(~empty), errors="coerce")
    expected = "an integer" if col.kind == "integer" else "a number"
    fail(values.isna() & ~empty, expected)
    if col.kind == "integer":
        fail(values.notna() & (values != values.round()), expected)
    if col.low is not None:
        low_bad = values <= col.low if col.low_open else values < col.low
        fail(low_bad, f"{expected} {'>' if col.low_open else '>='} {col.low:g}")
    if col.high is not None:
        fail(values >= col.high, f"{expected} < {col.high:g}")
    return values.astype("Int64") if col.kind == "integer" and col.required else values


def _check_duplicates(table: pd.DataFrame, key: list[str]) -> None:
    dup = table.duplicated(key, keep="first")
    if dup.any():
        cells = table[key].astype(object).fillna("").astype(str)  # empty cells compare equal
        row = table[dup].iloc[0]
        first = table[(cells == cells.loc[row.name]).all(axis=1)].iloc[0]
        raise PlanError(f"duplicate key {tuple(cells.loc[row.name])}, first given at "
                        f"{first['_file']}:{first['_line']}", file=row["_file"],
                        line=int(row["_line"]), path=", ".join(key))


def _check_references(cat: Catalog) -> None:
    accelerators = set(cat.accelerators["id"])
    regions = set(zip(cat.regions["provider"], cat.regions["region"]))
    providers = {p for p, _ in regions}
    for name, column in (("offerings", "accelerator"), ("throughput", "accelerator"),
                         ("commitments", "accelerator")):
        table = cat.table(name)
        used = table[column]
        _first_bad(table, ~used.isin(accelerators) & (used != ""), column,
                   lambda v: closest(v, accelerators, "accelerator"))
    off = cat.offerings
    pairs = pd.Series(list(zip(off["provider"], off["region"])), index=off.index)
    _first_bad(off, ~pairs.isin(regions), "region",
               lambda v: f"region {v!r} of this provider is not in regions.csv")
    com = cat.commitments
    _first_bad(com, ~com["provider"].isin(providers), "provider",
               lambda v: closest(v, providers, "provider"))


def _first_bad(table: pd.DataFrame, bad: pd.Series, column: str, message) -> None:
    if bad.any():
        row = table[bad].iloc[0]
        raise PlanError(message(row[column]), file=row["_file"], line=int(row["_line"]),
                        path=column)
