"""Catalog: the CSV tables of spec section 2, read and checked.

A table is ``<name>.csv`` or a folder ``<name>/`` of CSV files with the same columns.
Every check reports ``file:line: column: expected ..., got X`` through PlanError.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.errors import PlanError, closest, expected_range, quote
from planner.textfile import MIB, read_text

FAMILIES = ("gpu", "tpu", "trainium", "inferentia")
_PACKAGE = Path(__file__).resolve().parent.parent  # planner/
# Installed wheels carry the catalogs inside the package; a source tree has them beside it.
BUNDLED = next((p for p in (_PACKAGE / "catalogs", _PACKAGE.parent / "catalogs")
                if p.is_dir()), _PACKAGE / "catalogs")
INSTALLED = BUNDLED.parent == _PACKAGE  # inside an installed package: never written
MAX_TABLE_BYTES = 16 * MIB
# Names (providers, regions, models, markets, ...) are printed in tables and reports.
NAME = re.compile(r"\w[\w .:/+()-]{0,99}")
A_NAME = "a name (letters, digits, spaces and . : / + ( ) - _; at most 100 characters)"
MAX_PRICE = 1e6  # USD per instance-hour or chip-hour: above it a price is a typo
MAX_MONTHS = 120  # a horizon or a commitment term
MAX_DISCOUNT = 0.9  # off list: prices near zero are typos, and break the solver's numerics


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "name", "text", "number", "integer", "date", "choice"
    required: bool = True  # may the cell be empty
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the bounds are inclusive unless open
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False  # may be absent from a table's header (then every cell is empty)


def _cols(*columns: Column) -> tuple[Column, ...]:
    return (*columns, Column("source", "text"), Column("as_of", "date"))


POSITIVE = {"low": 0, "low_open": True}
LATENCY_STATS = ("limit", "p99", "p95", "p90", "p50", "mean")
PRICE = {**POSITIVE, "high": MAX_PRICE, "high_open": True}
LATENCY = {**POSITIVE, "high": 1e7, "high_open": True}  # ms
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
                          Column("memory_gb", "number", **POSITIVE, high=1e5)),
    "regions": _cols(Column("provider", "name"), Column("region", "name"),
                     Column("lat", "number", low=-90, high=90),
                     Column("lon", "number", low=-180, high=180),
                     Column("jurisdiction", "name")),
    "offerings": _cols(Column("provider", "name"), Column("region", "name"),
                       Column("instance", "name"), Column("accelerator", "name"),
                       Column("chips", "integer", **POSITIVE, high=1e5),
                       Column("on_demand_hourly", "number", **PRICE),
                       Column("spot_hourly", "number", required=False, **PRICE)),
    "commitments": _cols(Column("provider", "name"),
                         Column("accelerator", "name", required=False),
                         Column("term_months", "integer", **POSITIVE, high=MAX_MONTHS),
                         Column("discount", "number", low=0, high=MAX_DISCOUNT)),
    "throughput": (*_cols(Column("accelerator", "name"), Column("model", "name"),
                          Column("tokens_per_s_per_chip", "number", **POSITIVE, high=1e9,
                                 high_open=True),
                          Column("ttft_ms", "number", **LATENCY),
                          Column("tpot_ms", "number", **LATENCY)), *MEASUREMENT,
                   Column("chips_per_replica", "integer", required=False, optional=True,
                          **POSITIVE, high=1e5)),
    # v3: parameters held in memory, for the replica size a model needs; may be absent
    "models": _cols(Column("id", "name"), Column("params_b", "number", **POSITIVE, high=1e6)),
}
OPTIONAL_TABLES = ("models",)  # a catalog without them still loads (spec section 2)
KEYS = {
    "accelerators": ["id"],
    "regions": ["provider", "region"],
    "offerings": ["provider", "region", "instance"],
    "commitments": ["provider", "accelerator", "term_months"],
    # one row per measurement condition: two shapes, precisions or stacks may coexist
    "throughput": ["accelerator", "model", "ttft_ms", "tpot_ms",
                   *(c.name for c in MEASUREMENT), "chips_per_replica"],
    "models": ["id"],
}


@dataclass(frozen=True)
class Catalog:
    """The tables as DataFrames (plus hidden `_file`/`_line` columns for messages)."""

    path: Path
    accelerators: pd.DataFrame
    regions: pd.DataFrame
    offerings: pd.DataFrame
    commitments: pd.DataFrame
    throughput: pd.DataFrame
    models: pd.DataFrame  # empty when the catalog has no models.csv

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)


def resolve(name: str, relative_to: Path | None = None) -> Path:
    """A folder relative to the scenario file; else `catalogs/<name>/` in the nearest folder
    above the scenario that has one (a checkout's own copy, which its team edits); else the
    bundled catalog of that name."""
    base = (relative_to if relative_to is not None else Path.cwd()).resolve()
    candidate = (base / name) if not Path(name).is_absolute() else Path(name)
    for folder in (candidate, *(up / "catalogs" / name for up in (base, *base.parents)),
                   BUNDLED / name):
        try:
            if folder.is_dir():
                return folder
        except (OSError, ValueError):  # a name too long, or with a NUL byte
            pass
    raise PlanError(f"catalog folder not found: {quote(str(candidate), 200)} (bundled: "
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


def table_files(folder: Path, name: str) -> list[Path]:
    """The CSV files of one table: `<name>.csv`, or those of the folder `<name>/`."""
    return sorted((folder / name).glob("*.csv")) if (folder / name).is_dir() else \
        [folder / f"{name}.csv"]


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of each table of the catalog folder (its files in order; absent: "")."""
    out = {}
    for name in SCHEMA:
        digest = hashlib.sha256()
        files = [f for f in table_files(folder, name) if f.is_file()]
        for f in files:
            digest.update(f.read_bytes())
        out[name] = digest.hexdigest() if files else ""
    return out


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """One table of the catalog folder, every file checked, duplicates refused."""
    files = table_files(folder, name)
    if name in OPTIONAL_TABLES and (not files or not files[0].exists()):
        return pd.DataFrame({**{c.name: pd.Series(dtype=object) for c in SCHEMA[name]},
                             "_file": pd.Series(dtype=str), "_line": pd.Series(dtype=int)})
    if not files or not files[0].is_file():
        raise PlanError(f"catalog table missing: expected {folder / name}.csv "
                        f"or a folder {folder / name}/ of CSV files")
    frames = [_read_csv(f, SCHEMA[name]) for f in files]
    table = pd.concat(frames, ignore_index=True)
    _check_duplicates(table, KEYS[name])
    return table


def _read_csv(file: Path, columns: tuple[Column, ...]) -> pd.DataFrame:
    header, rows, lines = _csv_rows(file)
    missing = [c.name for c in columns if c.name not in header and not c.optional]
    if missing:
        raise PlanError(f"missing column(s) {', '.join(missing)}; the header has "
                        f"{quote(', '.join(header), 200)}", file=str(file), line=lines[0])
    raw = pd.DataFrame(rows, columns=header, dtype=str)
    lines = pd.Series(lines[1:], dtype=int)
    absent = pd.Series("", index=raw.index, dtype=str)  # an optional column left out
    table = pd.DataFrame({c.name: _parse_column(raw.get(c.name, absent).str.strip(), c, file,
                                                lines)
                          for c in columns})
    table["_file"], table["_line"] = str(file), lines.to_numpy()
    return table


def _csv_rows(file: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows with as many cells as the header, and the line each starts on (the
    header's first). Rows of empty cells are skipped."""
    reader = csv.reader(io.StringIO(read_text(file, "catalog table", MAX_TABLE_BYTES),
                                    newline=""), skipinitialspace=True, strict=True)
    header: list[str] = []
    rows, lines = [], []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise PlanError(f"not a readable CSV table ({exc})", file=str(file),
                            line=reader.line_num) from None
        if cells is None:
            break
        if not any(c.strip() for c in cells):
            continue
        if not lines:
            header = [c.strip() for c in cells]
            twice = sorted({c for c in header if header.count(c) > 1})
            if twice:
                raise PlanError(f"the header names {quote(twice[0])} twice", file=str(file),
                                line=line)
        elif len(cells) != len(header):
            raise PlanError(f"not a readable CSV table: this row has {len(cells)} cell(s), "
                            f"the header {len(header)}", file=str(file), line=line)
        else:
            rows.append(cells)
        lines.append(line)
    if not lines:
        raise PlanError("the table file is empty; expected a header row and a row per "
                        "entry", file=str(file))
    return header, rows, lines


def _parse_column(cells: pd.Series, col: Column, file: Path, lines: pd.Series) -> pd.Series:
    empty = cells == ""

    def fail(bad: pd.Series, expected: str) -> None:
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise PlanError(f"expected {expected}, got {quote(cells.iloc[row])}",
                            file=str(file), line=int(lines.iloc[row]), path=col.name)

    if col.required:
        fail(empty, f"a {col.kind if col.kind != 'choice' else 'value'} (the cell is empty)")
    if col.kind == "name":
        fail(~empty & ~cells.map(is_name).astype(bool), A_NAME)
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
        fail(values <= col.low if col.low_open else values < col.low,
             expected_range(expected, low=col.low, low_open=col.low_open))
    if col.high is not None:
        fail(values >= col.high if col.high_open else values > col.high,
             expected_range(expected, high=col.high, high_open=col.high_open))
    return values.astype("Int64") if col.kind == "integer" and col.required else values


def _check_duplicates(table: pd.DataFrame, key: list[str]) -> None:
    dup = table.duplicated(key, keep="first")
    if dup.any():
        cells = table[key].astype(object).fillna("").astype(str)  # empty cells compare equal
        row = table[dup].iloc[0]
        first = table[(cells == cells.loc[row.name]).all(axis=1)].iloc[0]
        raise PlanError(f"duplicate key {quote(tuple(cells.loc[row.name]))}, first given at "
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
               lambda v: f"region {quote(v)} of this provider is not in regions.csv")
    com = cat.commitments
    _first_bad(com, ~com["provider"].isin(providers), "provider",
               lambda v: closest(v, providers, "provider"))


def _first_bad(table: pd.DataFrame, bad: pd.Series, column: str, message) -> None:
    if bad.any():
        row = table[bad].iloc[0]
        raise PlanError(message(row[column]), file=row["_file"], line=int(row["_line"]),
                        path=column)
