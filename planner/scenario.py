"""Scenario: the YAML file of spec section 3, read with line numbers and checked.

Every mistake raises PlanError naming the file, the line of the offending key, the key path
and what was expected. Names (markets, models, providers, regions, accelerators) are checked
against the catalog and unknown ones come with the closest known names.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from planner.catalog import Catalog, load_catalog, resolve
from planner.errors import PlanError, closest
from planner.uncertainty import Futures, read_uncertainty

Path_ = tuple  # a key path: ("workloads", "chat", "slo", "ttft_ms")


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

class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats such as 5.0e7 (1.1 wants 5.0e+7)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _read_yaml(file: Path) -> tuple[object, dict[Path_, int]]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError("scenario file not found", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read the scenario file ({exc})", file=str(file)) from None
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanError(f"malformed YAML: {problem}", file=str(file),
                        line=mark.line + 1 if mark else None) from None
    if root is None:
        raise PlanError("the scenario file is empty", file=str(file))
    lines: dict[Path_, int] = {}
    constructor = _Loader("")

    def build(node: yaml.Node, path: Path_) -> object:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if key in out:
                    raise PlanError("duplicate key", file=str(file),
                                    line=key_node.start_mark.line + 1,
                                    path=_dotted((*path, key)))
                lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return build(root, ()), lines


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Reader:
    """Typed access to the parsed YAML; every failure names file, line and key path."""

    def __init__(self, file: Path, lines: dict[Path_, int]):
        self.file, self.lines = file, lines

    def error(self, path: Path_, message: str) -> PlanError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return PlanError(message, file=str(self.file), line=self.lines.get(probe),
                         path=_dotted(path) or None)

    def expect(self, path: Path_, expected: str, got: object) -> PlanError:
        return self.error(path, f"expected {expected}, got {got!r}")

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
            if not isinstance(key, str):
                raise self.expect((*path, key), "a name", key)
        return value

    def number(self, path: Path_, value: object, low: float | None = None,
               high: float | None = None, low_open: bool = False) -> float:
        what = "a number"
        if low is not None:
            what += f" {'>' if low_open else '>='} {low:g}"
        if high is not None:
            what += f" and <= {high:g}" if low is not None else f" <= {high:g}"
        if low == 0 and low_open and high is None:
            what = "a positive number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            raise self.expect(path, what, value)
        if (low is not None and (value <= low if low_open else value < low)) or \
                (high is not None and value > high):
            raise self.expect(path, what, value)
        return float(value)

    def integer(self, path: Path_, value: object, low: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.expect(path, f"an integer >= {low}", value)
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
                 "accelerators", "spot", "precision", "requests")
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

    name = top.get("name", file.stem)
    if not isinstance(name, str):
        raise r.expect(("name",), "a text", name)
    hz = r.mapping(("horizon",), top["horizon"], ("start", "months"), ("start", "months"))
    start = r.month(("horizon", "start"), hz["start"])
    months = r.integer(("horizon", "months"), hz["months"])

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

    jurisdictions = set(catalog.regions["jurisdiction"])
    markets = _markets(r, top["markets"])
    jurisdictions |= set(markets["jurisdiction"])
    known = _Known(catalog)

    workloads = {
        b.name: b for w, spec in r.table(("workloads",), top["workloads"]).items()
        for b in _workload(r, ("workloads", w), spec, markets, start, months, known,
                           jurisdictions)}

    discount, max_share = {}, {}
    for p, spec in r.table(("providers",), top.get("providers"), optional=True).items():
        path = ("providers", p)
        r.name(path, p, known.providers, "provider")
        spec = r.mapping(path, spec if spec is not None else {}, ("discount", "max_share"))
        discount[p] = r.number((*path, "discount"), spec.get("discount", 0), 0, 1)
        if "max_share" in spec:
            max_share[p] = r.number((*path, "max_share"), spec["max_share"], 0, 1)

    limits = tuple(_limit(r, ("limits", i), spec, start, known)
                   for i, spec in enumerate(_list(r, ("limits",), top.get("limits", []))))
    contracts = _contracts(r, _list(r, ("contracts",), top.get("contracts", [])), known)

    purchase = r.mapping(("purchase",), top.get("purchase", {}), ("terms", "integer"))
    terms = _list(r, ("purchase", "terms"), purchase.get("terms", []))
    terms = tuple(sorted({r.integer(("purchase", "terms", i), t) for i, t in enumerate(terms)}))
    integer = purchase.get("integer", True)
    if not isinstance(integer, bool):
        raise r.expect(("purchase", "integer"), "true or false", integer)

    survive, keep = None, 0.0
    if "resilience" in top:
        res = r.mapping(("resilience",), top["resilience"], ("survive", "keep"),
                        ("survive", "keep"))
        survive = res["survive"]
        if survive not in ("provider", "region"):
            raise r.expect(("resilience", "survive"), "'provider' or 'region'", survive)
        keep = r.number(("resilience", "keep"), res["keep"], 0, 1)

    monthly_max = None
    if "budget" in top:
        budget = r.mapping(("budget",), top["budget"], ("monthly_max",), ("monthly_max",))
        monthly_max = r.number(("budget", "monthly_max"), budget["monthly_max"], 0,
                               low_open=True)

    rtt = _network(r, top.get("network", {}), markets, known)
    _check_signed(r, contracts, limits, monthly_max, start, months)
    futures = read_uncertainty(r, top["uncertainty"], workloads, months) \
        if "uncertainty" in top else None
    return Scenario(name, file, catalog, start, months, markets, workloads, discount,
                    max_share, limits, contracts, terms, integer, survive, keep, monthly_max, rtt,
                    futures)


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
        self.models = set(cat.throughput["model"])
        self.precisions = set(cat.throughput["precision"]) - {""}

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


def _markets(r: _Reader, value: object) -> pd.DataFrame:
    rows = {}
    for m, spec in r.table(("markets",), value).items():
        path = ("markets", m)
        spec = r.mapping(path, spec, ("lat", "lon", "jurisdiction"),
                         ("lat", "lon", "jurisdiction"))
        jur = spec["jurisdiction"]
        if not isinstance(jur, str) or not jur:
            raise r.expect((*path, "jurisdiction"), "a jurisdiction code like us or eu", jur)
        rows[m] = {"lat": r.number((*path, "lat"), spec["lat"], -90, 90),
                   "lon": r.number((*path, "lon"), spec["lon"], -180, 180),
                   "jurisdiction": jur}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("market")


def _workload(r: _Reader, path: Path_, spec: object, markets: pd.DataFrame, start: int,
              months: int, known: _Known, jurisdictions: set[str]) -> list[Workload]:
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
    market_names = set(markets.index)

    demand = {}
    for m, value in r.table((*path, "demand"), spec["demand"]).items():
        r.name((*path, "demand", m), m, market_names, "market")
        demand[m] = _demand(r, (*path, "demand", m), value, months)
    residency = {}
    for m, allowed in r.table((*path, "residency"), spec.get("residency"), True).items():
        r.name((*path, "residency", m), m, market_names, "market")
        residency[m] = r.names((*path, "residency", m), allowed, jurisdictions, "jurisdiction")
    providers = accelerators = None
    if "providers" in spec:
        providers = r.names((*path, "providers"), spec["providers"], known.providers, "provider")
    if "accelerators" in spec:
        accelerators = r.names((*path, "accelerators"), spec["accelerators"],
                               known.accelerators, "accelerator")
    whole = Workload(path[-1], model, ttft, tpot, utilization, spot, demand, residency,
                     providers, accelerators, percentile, precision)
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


def _demand(r: _Reader, path: Path_, value: object, months: int) -> np.ndarray:
    """A number (every month), a list (one per month) or {start, growth} (compounding)."""
    if isinstance(value, dict):
        spec = r.mapping(path, value, ("start", "growth"), ("start", "growth"))
        first = r.number((*path, "start"), spec["start"], 0)
        growth = r.number((*path, "growth"), spec["growth"], -1, low_open=True)
        return first * (1 + growth) ** np.arange(months)
    if isinstance(value, list):
        if len(value) != months:
            raise r.error(path, f"expected a list of {months} numbers (one per horizon "
                                f"month), got {len(value)}")
        return np.array([r.number((*path, i), v, 0) for i, v in enumerate(value)])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.full(months, r.number(path, value, 0))
    raise r.expect(path, "a number of tokens/s >= 0, a list of one per month, "
                         "or {start, growth}", value)


def _limit(r: _Reader, path: Path_, spec: object, start: int, known: _Known) -> Limit:
    spec = r.mapping(path, spec, ("provider", "region", "accelerator", "chips", "from", "to"),
                     ("chips",))
    provider = spec.get("provider")
    if provider is not None:
        r.name((*path, "provider"), provider, known.providers, "provider")
    region = spec.get("region")
    if region is not None:
        known.region(r, (*path, "region"), provider, region)
    accelerator = spec.get("accelerator")
    if accelerator is not None:
        r.name((*path, "accelerator"), accelerator, known.accelerators, "accelerator")
    chips = r.number((*path, "chips"), spec["chips"], 0)
    first = r.month((*path, "from"), spec["from"]) - start if "from" in spec else -10**6
    last = r.month((*path, "to"), spec["to"]) - start if "to" in spec else 10**6
    if last < first:
        raise r.expect((*path, "to"), "a month not before 'from'", spec["to"])
    return Limit(chips, provider, region, accelerator, first, last)


CONTRACT_KEYS = ("provider", "region", "accelerator", "chips", "start", "months",
                 "price_per_chip_hour")


def _contracts(r: _Reader, specs: list, known: _Known) -> pd.DataFrame:
    rows = []
    for i, spec in enumerate(specs):
        path = ("contracts", i)
        spec = r.mapping(path, spec, CONTRACT_KEYS, CONTRACT_KEYS)
        provider = r.name((*path, "provider"), spec["provider"], known.providers, "provider")
        rows.append({
            "provider": provider,
            "region": known.region(r, (*path, "region"), provider, spec["region"]),
            "accelerator": r.name((*path, "accelerator"), spec["accelerator"],
                                  known.accelerators, "accelerator"),
            "chips": r.integer((*path, "chips"), spec["chips"]),
            "start": r.month((*path, "start"), spec["start"]),
            "months": r.integer((*path, "months"), spec["months"]),
            "price_per_chip_hour": r.number((*path, "price_per_chip_hour"),
                                            spec["price_per_chip_hour"], 0),
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
            rtt[(m, provider, region)] = r.number((*path, target), ms, 0)
    return rtt


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
