"""How numbers reach people: one formatter for money, one for rates, one for counts, and
headers in words. Terminal, HTML, XLSX and CSV all take their formats from here.

A column's kind comes from its name: money (USD totals), rate (USD per unit: per 1M
tokens, per chip-hour), count (chips, instances, tokens/s, shares) or text.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MONEY = {"cost", "monthly_cost", "cost_in_horizon", "cost_after_horizon", "total_cost",
         "value_usd", "a", "b", "delta", "expected_cost", "cvar", "usd", "bound"}
RATES = {"usd_per_1m_tokens", "usd_per_chip_hour", "price", "marginal", "excluded_best"}
PERCENT = {"pct", "share", "used_share", "utilization", "gap", "probability"}
WRAPPING = {"meaning", "reason", "source", "why", "deploy"}  # free text, wrapped where shown
HEADERS = {
    "tokens_per_s": "tokens/s", "tokens_millions": "tokens (millions)",
    "usd_per_1m_tokens": "$ per 1M tokens", "usd_per_chip_hour": "$ per chip-hour",
    "monthly_cost": "monthly cost", "cost_in_horizon": "cost inside horizon",
    "cost_after_horizon": "cost after horizon", "total_cost": "total cost",
    "term_months": "term (months)", "tokens_per_s_per_chip": "tokens/s per chip",
    "ttft_ms": "TTFT ms", "tpot_ms": "TPOT ms", "rtt_ms": "round trip ms",
    "instances_a": "instances A", "instances_b": "instances B", "pct": "change",
    "a": "A", "b": "B", "delta": "B - A", "used_share": "used", "failed": "if this fails",
    "unmet": "unmet tokens/s-months", "unprotected": "unprotected tokens/s-months",
    "peak_mib": "peak MiB", "worker_peak_mib": "worker peak MiB", "to_1pct_s": "s to 1 %",
    "to_0.1pct_s": "s to 0.1 %",
}
CSV_DECIMALS = {"money": 2, "rate": 6, "percent": 6, "count": 4}


def kind(column: str, values: pd.Series | None = None) -> str:
    """"money", "rate", "percent", "count" or "text"."""
    if column in MONEY:
        return "money"
    if column in RATES:
        return "rate"
    if column in PERCENT:
        return "percent"
    if values is not None and pd.api.types.is_numeric_dtype(values) and \
            not pd.api.types.is_bool_dtype(values):
        return "count"
    return "text"


def header(column: str) -> str:
    return HEADERS.get(column, column.replace("_", " "))


def money(value: float) -> str:
    """Whole dollars with separators; cents below $1,000; never a bare number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1000 or value == 0:
        return f"{sign}${value:,.0f}"
    return f"{sign}${value:,.2f}"


def short_money(value: float) -> str:
    """Axis labels: $950, $12k, $1.5M, $2.1B."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"${value / size:,.3g}{suffix}"
    return f"${value:,.0f}"


def rate(value: float) -> str:
    """A price per unit: three decimals below $10 ($0.150), two above."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"${value:,.3f}" if abs(value) < 10 else f"${value:,.2f}"


def count(value: float) -> str:
    """Whole numbers as such (1,234); fractions to two decimals (3.82); big ones whole."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def percent(value: float) -> str:
    """One decimal (12.5%); three below 1 % so that a small gap is not shown as 0.0%."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.3%}" if 0 < abs(value) < 0.01 else f"{value:.1%}"


def signed_money(value: float) -> str:
    """`+$1,234`, `-$5.20`, and no change (under half a cent) as `$0`."""
    if value is not None and abs(value) < 0.005:
        return "$0"
    text = money(value)
    return "+" + text if text and value > 0 else text


def signed_percent(value: float) -> str:
    """`+1.2%`, `-0.004%`, and no change as `0.0%`."""
    if value is not None and abs(value) < 5e-7:
        return "0.0%"
    text = percent(value)
    return "+" + text if text and value > 0 else text


def gap_text(solver: dict, total: float) -> str:
    """`gap 0.012% ($1,234)`, or that no bound was proven."""
    bound, gap = solver.get("bound"), solver.get("gap")
    if bound is None or gap is None or not math.isfinite(bound) or not math.isfinite(gap):
        return "no bound proven"
    usd = max(total - bound, 0.0)
    return f"gap {percent(gap)} ({money(usd)})" if usd >= 0.005 else "gap 0"


FORMAT = {"money": money, "rate": rate, "count": count, "percent": percent,
          "signed money": signed_money, "signed percent": signed_percent}
SIGNED = {"delta": "signed money", "pct": "signed percent"}
UNITS = {"USD": money, "USD per 1M tokens": rate, "share": percent}


def by_unit(value: float, unit: str) -> str:
    """A summary figure in its unit: dollars, a rate, a share, or a count with its unit."""
    if unit in UNITS:
        return UNITS[unit](value)
    return f"{count(value)} {unit}"


def cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text people read (column kinds from the names)."""
    out = {}
    for column in frame.columns:
        fmt = FORMAT.get(SIGNED.get(column) or kind(column, frame[column]))
        values = frame[column]
        out[column] = values.map(fmt) if fmt else values.map(
            lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return pd.DataFrame(out, index=frame.index)


def cents(values: pd.Series) -> pd.Series:
    """Money in whole cents that adds up, to the cent, to the column's own total rounded:
    each amount rounded down, then the cents left over go to the largest remainders."""
    exact = values.astype(float)
    finite = exact.notna() & np.isfinite(exact)
    if not finite.any():
        return exact
    hundredths = exact[finite] * 100
    low = np.floor(hundredths + 1e-6)
    short = round(float(hundredths.sum())) - int(low.sum())
    order = np.argsort(-(hundredths - low).to_numpy(), kind="stable")
    bump = np.zeros(len(low))
    bump[order[:max(short, 0)]] = 1.0
    out = exact.copy()
    out[finite] = (low + bump) / 100
    return out


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """For CSV and XLSX: money in whole cents adding up to each column's total (`cents`),
    rates to 6 decimals, counts to 4 (no 119999.99999999999)."""
    out = frame.copy()
    if {"value", "unit"} <= set(out.columns):  # a summary: each row by its unit
        usd = out["unit"] == "USD"
        out["value"] = out["value"].astype(object)
        out.loc[usd, "value"] = out.loc[usd, "value"].astype(float).round(2)
    for column in out.columns:
        what = kind(column, out[column])
        if column == "value" and "unit" in out.columns:
            continue
        if what == "money" and pd.api.types.is_numeric_dtype(out[column]):
            out[column] = cents(out[column])
            continue
        digits = CSV_DECIMALS.get(what)
        if digits is not None:
            out[column] = out[column].round(digits)
    return out
