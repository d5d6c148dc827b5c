"""Scenario: the YAML file of spec section 3, read with line numbers and checked.

Every mistake raises PlanError naming the file, the line of the offending key, the key path
and what was expected. Names (markets, models, providers, regions, accelerators) are checked
against the catalog and unknown ones come with the closest known names.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from planner.catalog.read import (
    A_NAME,
    MAX_DISCOUNT,
    MAX_MONTHS,
    MAX_PRICE,
    Catalog,
    is_name,
    load_catalog,
    resolve,
)
from planner.errors import EXCERPT, PlanError, closest, cut, expected_range, quote
from planner.scenario.kinds import CONTRACT, FAMILIES
from planner.scenario.uncertainty import Futures, read_uncertainty
from planner.textfile import MIB, read_text

Path_ = tuple  # a key path: ("workloads", "chat", "slo", "ttft_ms")

MAX_BYTES = 2 * MIB  # a scenario file
MAX_DEMAND = 1e12  # tokens/s of a workload in a market in a month
MAX_CHIPS = 10**7  # chips of a signed contract
MAX_RTT_MS = 10_000.0  # a measured round trip
BYTES_PER_VARIABLE = 4096  # peak memory of building and solving, per variable, with margin
MAX_DEPTH = 20  # mappings and lists inside each other
MAX_VALUES = 100_000  # values of the document once aliases and merge keys are expanded
TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels; expected a scenario"
TOO_MANY = f"more than {MAX_VALUES:,} values, counting every use of an alias; expected a " \
    "scenario"


@dataclass(frozen=True)
class Workload:
    name: str
    model: str
    ttft_ms: float
    tpot_ms: float
    utilization: float
    spot: float
    demand: dict[str, np.ndarray]  # market -> peak output tokens/s per horizon month
    residency: dict[str, frozenset[str]]  # market -> allowed jurisdictions
    providers: frozenset[str] | None
    accelerators: frozenset[str] | None
    percentile: str = "p99"  # the SLO's statistic: p50, p90, p95, p99 or mean
    precision: frozenset[str] | None = None  # allowed numeric formats (None: any)
    shape: tuple[float, float] | None = None  # (input, output tokens) of a request bucket
    parent: str | None = None  # the workload a request bucket belongs to
    measured_on: tuple[str, ...] = ()  # v3: other models whose rows serve it too
    memory_headroom: float = 0.2  # v3: a replica's memory >= weights x (1 + headroom)

    @property
    def row_models(self) -> tuple[str, ...]:
        """The models whose throughput rows may serve this workload."""
        return (self.model, *(m for m in self.measured_on if m != self.model))

    @property
    def family(self) -> str:
        """The workload as written (a request bucket's parent, else itself)."""
        return self.parent or self.name


@dataclass(frozen=True)
class Limit:
    chips: float
    provider: str | None = None
    region: str | None = None
    accelerator: str | None = None
    first: int = 0  # horizon month index, inclusive
    last: int = 10**6  # horizon month index, inclusive
    kind: str | None = None  # v3: only chips held as this kind count (None: every kind)


@dataclass(frozen=True)
class Scenario:
    name: str
    file: Path
    catalog: Catalog
    start: int  # month ordinal: year * 12 + month - 1
    months: int
    markets: pd.DataFrame  # index market; lat, lon, jurisdiction
    workloads: dict[str, Workload]
    discount: dict[str, float]  # provider -> negotiated discount
    max_share: dict[str, float]  # provider -> share cap
    limits: tuple[Limit, ...]
    contracts: pd.DataFrame  # provider, region, accelerator, chips, start, months, price_per_chip_hour
    terms: tuple[int, ...]
    integer: bool
    survive: str | None  # "provider" or "region"
    keep: float
    monthly_max: float | None
    rtt_ms: dict[tuple[str, str, str], float]  # (market, provider, region) -> ms
    futures: Futures | None = None  # uncertain demand (spec section 7)
    warnings: list[str] = field(default_factory=list)  # `file:line: path: warning: ...`
    count_spot: bool = False  # v3: spot counts as capacity that survives a failure

    @property
    def month_labels(self) -> list[str]:
        return [month_label(self.start + t) for t in range(self.months)]

    @property
    def hours(self) -> np.ndarray:
        return month_hours(self.start, self.months)


def month_label(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def month_hours(start: int, count: int) -> np.ndarray:
    """Calendar hours (days x 24) of `count` months from ordinal `start`."""
    return np.array([24 * calendar.monthrange(o // 12, o % 12 + 1)[1]
                     for o in range(start, start + count)], dtype=float)


# --- YAML with line numbers -------------------------------------------------------------

_CORE = "tag:yaml.org,2002:"
MERGE = _CORE + "merge"
_TAGS = {_CORE + t for t in ("map", "seq", "str", "int", "float", "bool", "null",
                             "timestamp", "merge")}


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as 5.0e7 (1.1 wants 5.0e+7), and
    stops at nesting deeper than MAX_DEPTH (before it exhausts the stack) or more than
    MAX_VALUES nodes (before they cost seconds)."""

    depth = nodes = 0

    def compose_node(self, parent, index):
        self.depth += 1
        self.nodes += 1
        try:
            if self.depth > MAX_DEPTH or self.nodes > MAX_VALUES:
                raise _Limit(TOO_DEEP if self.depth > MAX_DEPTH else TOO_MANY,
                             self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Limit(Exception):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message, self.line = message, line


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _read_yaml(file: Path) -> tuple[object, dict[Path_, int]]:
    text = read_text(file, "scenario file", MAX_BYTES)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        raise PlanError(f"malformed YAML: unacceptable character #x{exc.character:04x}",
                        file=str(file), line=text.count("\n", 0, exc.position) + 1) from None
    try:
        root = loader.get_single_node()
    except _Limit as exc:
        raise PlanError(exc.message, file=str(file), line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanError(f"malformed YAML: {cut(problem, 200)}", file=str(file),
                        line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    if root is None:
        raise PlanError("the scenario file is empty", file=str(file))
    lines: dict[Path_, int] = {}
    count = 0

    def fail(node: yaml.Node, path: Path_, message: str) -> PlanError:
        return PlanError(message, file=str(file), line=node.start_mark.line + 1,
                         path=_dotted(path) or None)

    def build(node: yaml.Node, path: Path_) -> object:
        nonlocal count
        count += 1
        if count > MAX_VALUES or len(path) > MAX_DEPTH:  # aliases: in bulk, or in themselves
            raise PlanError(TOO_DEEP if len(path) > MAX_DEPTH else TOO_MANY, file=str(file),
                            path=_dotted(path[:1]),
                            line=lines.get(path[:1], node.start_mark.line + 1))
        if node.tag not in _TAGS:
            raise fail(node, path, f"unsupported tag {quote(node.tag)}; a scenario is "
                                   "plain YAML")
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return scalar(node, path)

    def scalar(node: yaml.Node, path: Path_) -> object:
        try:
            return loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            kind = node.tag.removeprefix(_CORE)
            raise fail(node, path, f"cannot read {quote(node.value)} as {kind}") from None

    def mapping(node: yaml.MappingNode, path: Path_) -> dict:
        """Keys merged in with `<<` first (the earlier source wins), then the node's own."""
        merged, own = {}, {}
        sources = [v for k, v in node.value if k.tag == MERGE]
        for source in reversed([s for v in sources for s in (
                v.value if isinstance(v, yaml.SequenceNode) else [v])]):
            if not isinstance(source, yaml.MappingNode):
                raise fail(source, (*path, "<<"), "expected a mapping, or a list of "
                                                  "mappings, to merge")
            merged.update(build(source, path))
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise fail(key_node, path, "expected a name as the key, got a "
                                           + ("mapping" if isinstance(
                                               key_node, yaml.MappingNode) else "list"))
            key = scalar(key_node, path)
            if key in own:
                raise fail(key_node, (*path, key), "duplicate key")
            lines[(*path, key)] = key_node.start_mark.line + 1
            own[key] = build(value_node, (*path, key))
        return {**merged, **own}

    return build(root, ()), lines


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        text = str(part) if len(str(part)) <= EXCERPT else quote(part)
        out += f"[{text}]" if isinstance(part, int) else (f".{text}" if out else text)
    return out


class _Reader:
    """Typed access to the parsed YAML; every failure names file, line and key path."""

    def __init__(self, file: Path, lines: dict[Path_, int]):
        self.file, self.lines = file, lines
        self.warnings: list[str] = []

    def error(self, path: Path_, message: str) -> PlanError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return PlanError(message, file=str(self.file), line=self.lines.get(probe),
                         path=_dotted(path) or None)

    def expect(self, path: Path_, expected: str, got: object) -> PlanError:
        return self.error(path, f"expected {expected}, got {quote(got)}")

    def warn(self, path: Path_, message: str) -> None:
        """A value that is valid but does nothing: one line for stderr, nothing refused."""
        self.warnings.append(str(self.error(path, f"warning: {message}")))

    def mapping(self, path: Path_, value: object, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.expect(path, "a mapping of " + ", ".join(allowed), value)
        for key in value:
            if key not in allowed:
                raise self.error((*path, key), closest(key, allowed, "key"))
        for key in required:
            if key not in value:
                raise self.error(path, f"missing key '{key}'")
        return value

    def table(self, path: Path_, value: object, optional: bool = False) -> dict:
        """A mapping of user-chosen names (markets, workloads, providers)."""
        if optional and value is None:
            return {}
        if not isinstance(value, dict) or not (value or optional):
            raise self.expect(path, "a non-empty mapping of names", value)
        for key in value:
            self.label((*path, key), key)
        return value

    def label(self, path: Path_, value: object) -> str:
        """A name the user chooses: it is printed in tables and reports."""
        if not is_name(value):
            raise self.expect(path, A_NAME, value)
        return value

    def number(self, path: Path_, value: object, low: float | None = None,
               high: float | None = None, low_open: bool = False, high_open: bool = False
               ) -> float:
        what = expected_range("a number", low, high, low_open, high_open)
        if low == 0 and low_open and high is None:
            what = "a positive number"
        try:
            finite = isinstance(value, (int, float)) and math.isfinite(value)
        except OverflowError:  # an integer beyond any float
            finite = False
        if isinstance(value, bool) or not finite:
            raise self.expect(path, what, value)
        if (low is not None and (value <= low if low_open else value < low)) or \
                (high is not None and (value >= high if high_open else value > high)):
            raise self.expect(path, what, value)
        return float(value)

    def integer(self, path: Path_, value: object, low: int = 1, high: int | None = None
                ) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or \
                (high is not None and value > high):
            raise self.expect(path, expected_range("an integer", low, high), value)
        return value

    def month(self, path: Path_, value: object) -> int:
        match = re.fullmatch(r"(\d{4})-(\d{2})", value) if isinstance(value, str) else None
        if not match or not 1 <= int(match[2]) <= 12:
            raise self.expect(path, "a month YYYY-MM", value)
        return int(match[1]) * 12 + int(match[2]) - 1

    def name(self, path: Path_, value: object, known: set[str], what: str) -> str:
        if not isinstance(value, str):
            raise self.expect(path, f"a {what} name", value)
        if value not in known:
            raise self.error(path, closest(value, known, what))
        return value

    def names(self, path: Path_, value: object, known: set[str], what: str) -> frozenset[str]:
        if not isinstance(value, list) or not value:
            raise self.expect(path, f"a non-empty list of {what} names", value)
        return frozenset(self.name((*path, i), v, known, what) for i, v in enumerate(value))


# --- the scenario ------------------------------------------------------------------------

TOP_KEYS = ("name", "horizon", "catalog", "markets", "workloads", "providers", "limits",
            "contracts", "purchase", "resilience", "budget", "network", "uncertainty")
WORKLOAD_KEYS = ("model", "slo", "utilization", "demand", "residency", "providers",
                 "accelerators", "spot", "precision", "requests", "measured_on",
                 "memory_headroom")
PERCENTILES = ("p50", "p90", "p95", "p99", "mean")


def load_scenario(path: str | Path, catalog: Catalog | None = None,
                  overrides: dict[str, object] | None = None) -> Scenario:
    """Read, check and resolve a scenario file (and its catalog unless one is given).

    `overrides` (key path as in error messages, `providers.aws.discount`, -> value) are set
    in the file's data before it is checked, as by `plan sweep --set KEY=VALUE`."""
    file = Path(path)
    data, lines = _read_yaml(file)
    _override(file, data, lines, overrides or {})
    r = _Reader(file, lines)
    top = r.mapping((), data, TOP_KEYS, required=("horizon", "markets", "workloads"))

    name = r.label(("name",), top["name"]) if "name" in top else file.stem
    hz = r.mapping(("horizon",), top["horizon"], ("start", "months"), ("start", "months"))
    start = r.month(("horizon", "start"), hz["start"])
    months = r.integer(("horizon", "months"), hz["months"], high=MAX_MONTHS)

    if catalog is None:
        cat_name = top.get("catalog", "default")
        if not isinstance(cat_name, str):
            raise r.expect(("catalog",), "a catalog name or folder", cat_name)
        try:
            catalog = load_catalog(resolve(cat_name, file.parent))
        except PlanError as exc:
            if exc.file:  # a mistake inside the catalog: its own file and line
                raise
            raise r.error(("catalog",), exc.message) from None

    known = _Known(catalog)
    markets = _markets(r, top["markets"], known)
    workloads = {
        b.name: b for w, spec in r.table(("workloads",), top["workloads"]).items()
        for b in _workload(r, ("workloads", w), spec, markets, start, months, known)}

    discount, max_share = {}, {}
    for p, spec in r.table(("providers",), top.get("providers"), optional=True).items():
        path = ("providers", p)
        r.name(path, p, known.providers, "provider")
        spec = r.mapping(path, spec if spec is not None else {}, ("discount", "max_share"))
        discount[p] = r.number((*path, "discount"), spec.get("discount", 0), 0, MAX_DISCOUNT)
        if "max_share" in spec:
            max_share[p] = r.number((*path, "max_share"), spec["max_share"], 0, 1)

    limits = tuple(_limit(r, ("limits", i), spec, start, known)
                   for i, spec in enumerate(_list(r, ("limits",), top.get("limits", []))))
    contracts = _contracts(r, _list(r, ("contracts",), top.get("contracts", [])), known)

    purchase = r.mapping(("purchase",), top.get("purchase", {}), ("terms", "integer"))
    terms = _list(r, ("purchase", "terms"), purchase.get("terms", []))
    terms = tuple(sorted({_term(r, ("purchase", "terms", i), t, catalog)
                          for i, t in enumerate(terms)}))
    integer = purchase.get("integer", True)
    if not isinstance(integer, bool):
        raise r.expect(("purchase", "integer"), "true or false", integer)

    survive, keep, count_spot = None, 0.0, False
    if "resilience" in top:
        res = r.mapping(("resilience",), top["resilience"], ("survive", "keep", "count_spot"),
                        ("survive", "keep"))
        survive = res["survive"]
        if survive not in ("provider", "region"):
            raise r.expect(("resilience", "survive"), "'provider' or 'region'", survive)
        keep = r.number(("resilience", "keep"), res["keep"], 0, 1)
        count_spot = res.get("count_spot", False)
        if not isinstance(count_spot, bool):
            raise r.expect(("resilience", "count_spot"), "true or false", count_spot)

    monthly_max = None
    if "budget" in top:
        budget = r.mapping(("budget",), top["budget"], ("monthly_max",), ("monthly_max",))
        monthly_max = r.number(("budget", "monthly_max"), budget["monthly_max"], 0,
                               low_open=True)

    rtt = _network(r, top.get("network", {}), markets, known)
    _check_signed(r, contracts, limits, monthly_max, start, months)
    _check_size(r, workloads, catalog, terms, months)
    _check_slos(r, workloads, catalog)
    futures = read_uncertainty(r, top["uncertainty"], workloads, months) \
        if "uncertainty" in top else None
    return Scenario(name, file, catalog, start, months, markets, workloads, discount,
                    max_share, limits, contracts, terms, integer, survive, keep, monthly_max, rtt,
                    futures, r.warnings, count_spot)


def _override(file: Path, data: object, lines: dict[Path_, int | str],
              overrides: dict[str, object]) -> None:
    """Set each key path of `overrides` in `data`, creating mappings that are missing. Its
    place reads `--set KEY=VALUE` instead of a line, so a bad value is reported as set there.
    A workload or market cannot be made by one value: a new name there is a mistyped one."""
    for key, value in overrides.items():
        shown = str(value).lower() if isinstance(value, bool) else value
        where = f"--set {key}={shown}"
        if not re.fullmatch(r"[^.\[\]]+(\.[^.\[\]]+|\[\d+\])*", key):
            raise PlanError("expected a key path like providers.aws.discount or "
                            "limits[0].chips", file=str(file), line=where)
        path: Path_ = tuple(int(p[1:-1]) if p[0] == "[" else p
                            for p in re.findall(r"\[\d+\]|[^.\[\]]+", key))
        node = data
        for depth, part in enumerate(path):
            here = path[:depth + 1]
            if isinstance(part, int) and not (isinstance(node, list) and part < len(node)):
                raise _Reader(file, lines).expect(path[:depth], f"a list with an item {part} "
                                                  f"to set ({where})", node)
            if isinstance(part, str) and not isinstance(node, dict):
                raise _Reader(file, lines).expect(path[:depth], f"a mapping to set {part!r} "
                                                  f"in ({where})", node)
            if isinstance(part, str) and part not in node and \
                    path[:depth] in (("workloads",), ("markets",)):
                raise PlanError(closest(part, node, path[0][:-1]), file=str(file),
                                line=where, path=_dotted(here))
            if isinstance(part, str) and node.get(part) is None:  # missing or left empty
                node[part] = {}
                lines[here] = where
            if depth == len(path) - 1:
                node[part] = value
                lines[here] = where
            node = node[part]


class _Known:
    """The names a scenario may use, taken from its catalog."""

    def __init__(self, cat: Catalog):
        self.providers = set(cat.regions["provider"]) | set(cat.offerings["provider"])
        self.regions = set(cat.regions["region"])
        self.regions_of: dict[str, set[str]] = (
            cat.regions.groupby("provider")["region"].agg(set).to_dict())
        self.accelerators = set(cat.accelerators["id"])
        self.models = set(cat.throughput["model"]) | set(cat.models["id"])
        self.precisions = set(cat.throughput["precision"]) - {""}
        self.jurisdictions = set(cat.regions["jurisdiction"])
        self.offered: dict[tuple[str, str], set[str]] = (
            cat.offerings.groupby(["provider", "region"])["accelerator"].agg(set).to_dict())

    def region(self, r: _Reader, path: Path_, provider: str | None, region: object) -> str:
        known = self.regions_of.get(provider, set()) if provider else self.regions
        what = f"{provider} region" if provider else "region"
        return r.name(path, region, known, what)


def _list(r: _Reader, path: Path_, value: object) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise r.expect(path, "a list", value)
    return value


def _markets(r: _Reader, value: object, known: _Known) -> pd.DataFrame:
    rows = {}
    for m, spec in r.table(("markets",), value).items():
        path = ("markets", m)
        spec = r.mapping(path, spec, ("lat", "lon", "jurisdiction"),
                         ("lat", "lon", "jurisdiction"))
        jur = spec["jurisdiction"]
        if not is_name(jur):
            raise r.expect((*path, "jurisdiction"), "a jurisdiction code like us or eu", jur)
        if jur not in known.jurisdictions:  # harmless: residency names regions' jurisdictions
            r.warn((*path, "jurisdiction"), f"no region of the catalog is in {quote(jur)} "
                   f"(known: {', '.join(sorted(known.jurisdictions))})")
        rows[m] = {"lat": r.number((*path, "lat"), spec["lat"], -90, 90),
                   "lon": r.number((*path, "lon"), spec["lon"], -180, 180),
                   "jurisdiction": jur}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("market")


def _workload(r: _Reader, path: Path_, spec: object, markets: pd.DataFrame, start: int,
              months: int, known: _Known) -> list[Workload]:
    """The workload, or with `requests` one workload per request bucket (its share of the
    demand, named `<workload> <input>><output>`, its parent the workload)."""
    spec = r.mapping(path, spec, WORKLOAD_KEYS, ("model", "slo", "demand"))
    model = r.name((*path, "model"), spec["model"], known.models, "model")
    slo = r.mapping((*path, "slo"), spec["slo"], ("ttft_ms", "tpot_ms", "percentile"),
                    ("ttft_ms", "tpot_ms"))
    ttft = r.number((*path, "slo", "ttft_ms"), slo["ttft_ms"], 0, low_open=True)
    tpot = r.number((*path, "slo", "tpot_ms"), slo["tpot_ms"], 0, low_open=True)
    percentile = slo.get("percentile", "p99")
    if percentile not in PERCENTILES:
        raise r.error((*path, "slo", "percentile"), closest(percentile, PERCENTILES,
                                                             "percentile"))
    precision = None
    if "precision" in spec:
        precision = r.names((*path, "precision"), spec["precision"], known.precisions,
                            "precision")
    utilization = r.number((*path, "utilization"), spec.get("utilization", 1.0), 0, 1,
                           low_open=True)
    spot = r.number((*path, "spot"), spec.get("spot", 0), 0, 1)
    measured_on = spec.get("measured_on") or []  # `[]` is the default written out
    measured_on = tuple(sorted(r.names((*path, "measured_on"), measured_on, known.models,
                                       "model"))) if measured_on else ()
    headroom = r.number((*path, "memory_headroom"), spec.get("memory_headroom", 0.2), 0, 10)
    market_names = set(markets.index)

    demand = {}
    for m, value in r.table((*path, "demand"), spec["demand"]).items():
        r.name((*path, "demand", m), m, market_names, "market")
        demand[m] = _demand(r, (*path, "demand", m), value, start, months)
    residency = {}
    for m, allowed in r.table((*path, "residency"), spec.get("residency"), True).items():
        r.name((*path, "residency", m), m, market_names, "market")
        residency[m] = r.names((*path, "residency", m), allowed, known.jurisdictions,
                               "jurisdiction")
    providers = accelerators = None
    if "providers" in spec:
        providers = r.names((*path, "providers"), spec["providers"], known.providers, "provider")
    if "accelerators" in spec:
        accelerators = r.names((*path, "accelerators"), spec["accelerators"],
                               known.accelerators, "accelerator")
    whole = Workload(path[-1], model, ttft, tpot, utilization, spot, demand, residency,
                     providers, accelerators, percentile, precision,
                     measured_on=measured_on, memory_headroom=headroom)
    if "requests" not in spec:
        return [whole]
    return _buckets(r, (*path, "requests"), spec["requests"], whole)


def _buckets(r: _Reader, path: Path_, value: object, whole: Workload) -> list[Workload]:
    """Request buckets: shares of the workload's output tokens/s, each its own shape."""
    buckets, total = [], 0.0
    for i, spec in enumerate(_list(r, path, value)):
        spec = r.mapping((*path, i), spec, ("input_tokens", "output_tokens", "share"),
                         ("input_tokens", "output_tokens", "share"))
        shape = (r.number((*path, i, "input_tokens"), spec["input_tokens"], 0, low_open=True),
                 r.number((*path, i, "output_tokens"), spec["output_tokens"], 0,
                          low_open=True))
        share = r.number((*path, i, "share"), spec["share"], 0, 1, low_open=True)
        total += share
        name = f"{whole.name} {shape[0]:g}>{shape[1]:g}"
        if any(b.name == name for b in buckets):
            raise r.error((*path, i), f"the request shape {shape[0]:g}>{shape[1]:g} is "
                                      "given twice")
        buckets.append(dataclasses.replace(
            whole, name=name, shape=shape, parent=whole.name,
            demand={m: d * share for m, d in whole.demand.items()}))
    if not buckets:
        raise r.expect(path, "a non-empty list of {input_tokens, output_tokens, share}", value)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise r.error(path, f"expected shares that sum to 1, got {total:g}")
    return buckets


def _demand(r: _Reader, path: Path_, value: object, start: int, months: int) -> np.ndarray:
    """A number (every month), a list (one per month) or {start, growth} (compounding)."""
    if isinstance(value, dict):
        spec = r.mapping(path, value, ("start", "growth"), ("start", "growth"))
        first = r.number((*path, "start"), spec["start"], 0, MAX_DEMAND)
        growth = r.number((*path, "growth"), spec["growth"], -1, low_open=True)
        with np.errstate(over="ignore"):
            demand = first * (1 + growth) ** np.arange(months) if first else np.zeros(months)
        if (demand > MAX_DEMAND).any():
            t = int(np.argmax(demand > MAX_DEMAND))
            raise r.error(path, f"expected at most {MAX_DEMAND:g} tokens/s in any month, got "
                                f"{demand[t]:.3g} in {month_label(start + t)} from "
                                f"{{start: {first:g}, growth: {growth:g}}}")
        return demand
    if isinstance(value, list):
        if len(value) != months:
            raise r.error(path, f"expected a list of {months} numbers (one per horizon "
                                f"month), got {len(value)}")
        return np.array([r.number((*path, i), v, 0, MAX_DEMAND) for i, v in enumerate(value)])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.full(months, r.number(path, value, 0, MAX_DEMAND))
    raise r.expect(path, "a number of tokens/s >= 0, a list of one per month, "
                         "or {start, growth}", value)


def _limit(r: _Reader, path: Path_, spec: object, start: int, known: _Known) -> Limit:
    spec = r.mapping(path, spec, ("provider", "region", "accelerator", "kind", "chips", "from",
                                  "to"), ("chips",))
    provider = spec.get("provider")
    if provider is not None:
        r.name((*path, "provider"), provider, known.providers, "provider")
    region = spec.get("region")
    if region is not None:
        known.region(r, (*path, "region"), provider, region)
    accelerator = spec.get("accelerator")
    if accelerator is not None:
        r.name((*path, "accelerator"), accelerator, known.accelerators, "accelerator")
    kind = spec.get("kind")
    if kind is not None and kind not in FAMILIES:
        raise r.error((*path, "kind"), closest(kind, FAMILIES, "purchase kind"))
    chips = r.number((*path, "chips"), spec["chips"], 0)
    first = r.month((*path, "from"), spec["from"]) - start if "from" in spec else -10**6
    last = r.month((*path, "to"), spec["to"]) - start if "to" in spec else 10**6
    if last < first:
        raise r.expect((*path, "to"), "a month not before 'from'", spec["to"])
    return Limit(chips, provider, region, accelerator, first, last, kind)


CONTRACT_KEYS = ("provider", "region", "accelerator", "chips", "start", "months",
                 "price_per_chip_hour")


def _contracts(r: _Reader, specs: list, known: _Known) -> pd.DataFrame:
    rows = []
    for i, spec in enumerate(specs):
        path = ("contracts", i)
        spec = r.mapping(path, spec, CONTRACT_KEYS, CONTRACT_KEYS)
        provider = r.name((*path, "provider"), spec["provider"], known.providers, "provider")
        region = known.region(r, (*path, "region"), provider, spec["region"])
        accelerator = r.name((*path, "accelerator"), spec["accelerator"], known.accelerators,
                             "accelerator")
        offered = known.offered.get((provider, region), set())
        if accelerator not in offered:
            raise r.error((*path, "accelerator"), (
                f"the catalog has no offering of {accelerator} in {provider} {region}; "
                f"offered there: {', '.join(sorted(offered)) or 'nothing'}"))
        rows.append({
            "provider": provider, "region": region, "accelerator": accelerator,
            "chips": r.integer((*path, "chips"), spec["chips"], high=MAX_CHIPS),
            "start": r.month((*path, "start"), spec["start"]),
            "months": r.integer((*path, "months"), spec["months"], high=MAX_MONTHS),
            "price_per_chip_hour": r.number((*path, "price_per_chip_hour"),
                                            spec["price_per_chip_hour"], 0, MAX_PRICE,
                                            high_open=True),
        })
    return pd.DataFrame(rows, columns=list(CONTRACT_KEYS))


def _network(r: _Reader, value: object, markets: pd.DataFrame,
             known: _Known) -> dict[tuple[str, str, str], float]:
    net = r.mapping(("network",), {} if value is None else value, ("rtt_ms",))
    rtt = {}
    for m, targets in r.table(("network", "rtt_ms"), net.get("rtt_ms"), True).items():
        path = ("network", "rtt_ms", m)
        r.name(path, m, set(markets.index), "market")
        for target, ms in r.table(path, targets).items():
            provider, _, region = target.partition("/")
            r.name((*path, target), provider, known.providers, "provider")
            known.region(r, (*path, target), provider, region)
            rtt[(m, provider, region)] = r.number((*path, target), ms, 0, MAX_RTT_MS)
    return rtt


def _term(r: _Reader, path: Path_, value: object, catalog: Catalog) -> int:
    """A commitment term the optimizer may buy; one nobody sells is a warning."""
    term = r.integer(path, value, high=MAX_MONTHS)
    sold = set(catalog.commitments["term_months"])
    if term not in sold:
        r.warn(path, f"no provider in the catalog sells a {term}-month commitment, so this "
                     f"term buys nothing (sold: {', '.join(map(str, sorted(sold))) or 'none'})")
    return term


def _check_slos(r: _Reader, workloads: dict[str, Workload], catalog: Catalog) -> None:
    """A workload whose SLO no throughput row meets anywhere (even with no round trip) can
    only be unmet: say so, with the best latencies measured for its models."""
    thr = catalog.throughput
    for w in workloads.values():
        rows = thr[thr["model"].isin(w.row_models)]
        if ((rows["ttft_ms"] <= w.ttft_ms) & (rows["tpot_ms"] <= w.tpot_ms)).any():
            continue
        name = w.parent or w.name
        if not len(rows):
            r.warn(("workloads", name, "model"), f"no throughput row of {w.model} (nor of "
                   f"measured_on) in the catalog: its demand will be unmet")
            continue
        best = rows.loc[rows["ttft_ms"].idxmin()], rows.loc[rows["tpot_ms"].idxmin()]
        r.warn(("workloads", name, "slo"), (
            f"no throughput row of {', '.join(w.row_models)} meets ttft {w.ttft_ms:g} ms and "
            f"tpot {w.tpot_ms:g} ms anywhere, so its demand will be unmet; best measured: "
            f"ttft {best[0]['ttft_ms']:g} ms ({best[0]['accelerator']}), tpot "
            f"{best[1]['tpot_ms']:g} ms ({best[1]['accelerator']})"))


def _check_size(r: _Reader, workloads: dict[str, Workload], catalog: Catalog,
                terms: tuple[int, ...], months: int) -> None:
    """Refuse, before anything is allocated, a model larger than this machine's memory.

    Variables ~ (serving options + purchase classes) x months, where a serving option is a
    market with demand x a site whose accelerator has throughput rows for the model (x 2
    with spot) and a purchase class an offering x (on-demand, spot, each term): an upper
    bound, since latency, residency and dominated instances prune more."""
    off = catalog.offerings
    sites = off[["provider", "region", "accelerator"]].drop_duplicates()
    options = 0
    for w in workloads.values():
        rows = sites[sites["accelerator"].isin(
            catalog.throughput.loc[catalog.throughput["model"] == w.model, "accelerator"])]
        if w.providers is not None:
            rows = rows[rows["provider"].isin(w.providers)]
        if w.accelerators is not None:
            rows = rows[rows["accelerator"].isin(w.accelerators)]
        markets = sum(d.max() > 0 for d in w.demand.values())
        options += markets * len(rows) * (2 if w.spot > 0 else 1)
    variables = (options + len(off) * (2 + len(terms))) * months
    need, have = variables * BYTES_PER_VARIABLE, memory_bytes()
    if need > have:
        raise r.error(("horizon", "months"), (
            f"the model would have about {variables:.3g} variables and need about "
            f"{need / 2**30:,.0f} GB, more than this machine's {have / 2**30:,.0f} GB; plan "
            "fewer months, workloads or markets, or restrict providers and accelerators"))


def memory_bytes() -> int:
    """Physical memory of this machine (8 GB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 8 * 2**30


def contract_months(contracts: pd.DataFrame, start: int, months: int) -> np.ndarray:
    """contracts x horizon months: True where the contract is active."""
    rel = start + np.arange(months)[None, :] - contracts["start"].to_numpy()[:, None]
    return (rel >= 0) & (rel < contracts["months"].to_numpy()[:, None])


def _check_signed(r: _Reader, contracts: pd.DataFrame, limits: tuple[Limit, ...],
                  monthly_max: float | None, start: int, months: int) -> None:
    """Signed contracts are fixed: a limit or budget they already break can never hold."""
    active = contract_months(contracts, start, months)
    chips = active * contracts["chips"].to_numpy()[:, None]
    for i, limit in enumerate(limits):
        if limit.kind not in (None, CONTRACT):  # counts no signed chips
            continue
        mine = np.ones(len(contracts), dtype=bool)
        for col in ("provider", "region", "accelerator"):
            if getattr(limit, col) is not None:
                mine &= (contracts[col] == getattr(limit, col)).to_numpy()
        signed = chips[mine].sum(axis=0)
        t = np.arange(months)
        over = (signed > limit.chips) & (t >= limit.first) & (t <= limit.last)
        if over.any():
            first = int(np.argmax(over))
            raise r.error(("limits", i, "chips"), (
                f"expected at least the {signed[first]:g} chips signed in contracts there "
                f"in {month_label(start + first)}, got {limit.chips:g}"))
    if monthly_max is not None:
        cost = (chips * contracts["price_per_chip_hour"].to_numpy()[:, None]).sum(axis=0) \
            * month_hours(start, months)
        if (cost > monthly_max).any():
            first = int(np.argmax(cost > monthly_max))
            raise r.error(("budget", "monthly_max"), (
                f"expected at least the {cost[first]:,.0f} USD signed contracts cost in "
                f"{month_label(start + first)}, got {monthly_max:,.0f}"))
