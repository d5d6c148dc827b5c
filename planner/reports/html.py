"""A self-contained, printable HTML page of a plan, with SVG charts.

One colour means one thing in a whole report: providers and accelerators have colours of
their own (Paul Tol's colour-blind-safe palettes), purchase kinds greys from dark (signed)
to light (spot), and every other series (workloads, markets, futures, failed sites) takes
the next unused colour of a pool of its own, which no fixed colour repeats. Axes in money
read $1.5M and hold every point; every chart has a legend beside it, never on it.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from planner.reports.format import WRAPPING, cells, header, short_money

PROVIDERS = {"aws": "#EE7733", "gcp": "#0077BB", "azure": "#33BBEE", "lambda": "#AA3377",
             "oci": "#CC3311"}
KINDS = {"contract": "#1B1B1B", "commit-36": "#4D4D4D", "commit-24": "#666666",
         "commit-12": "#808080", "on-demand": "#B3B3B3", "spot": "#E0E0E0"}
ACCELERATORS = {
    "h100-sxm": "#332288", "h200": "#88CCEE", "b200": "#44AA99", "gb200": "#117733",
    "a100-40gb": "#999933", "a100-80gb": "#DDCC77", "l4": "#CC6677", "l40s": "#882255",
    "a10g": "#AA4499", "mi300x": "#EE8866", "mi325x": "#EEDD88", "tpu-v5e": "#77AADD",
    "tpu-v5p": "#99DDFF", "tpu-v6e": "#44BB99", "trn1": "#BBCC33", "trn2": "#AAAA00",
    "inf2": "#FFAABB"}
PALETTES = {"provider": PROVIDERS, "kind": KINDS, "accelerator": ACCELERATORS}
# pools for names without a fixed colour (matplotlib's tab20b and tab20c): disjoint, and
# none of them is a fixed colour above
POOLS = {
    "workload": ["#7B4173", "#E7BA52", "#637939", "#843C39", "#CE6DBD", "#B5CF6B",
                 "#393B79", "#E7969C", "#8CA252", "#DE9ED6"],
    "market": ["#8C6D31", "#636363", "#D6616B", "#31A354", "#756BB1", "#BD9E39", "#9ECAE1",
               "#A1D99B", "#BCBDDC", "#9C9EDE"],
    "other": ["#5254A3", "#AD494A", "#A55194", "#6BAED6", "#FD8D3C", "#74C476", "#9E9AC8",
              "#969696", "#CEDB9C", "#FDD0A2", "#6B6ECF", "#E7CB94", "#3182BD", "#E6550D"],
}
_TAKEN: dict[tuple[str, str], str] = {}  # (pool, name) -> its colour, in the report being
#                                          drawn (`page` ends it)


def colour(dimension: str, name: str) -> str:
    """The colour of `name` in `dimension`: its own, else the next unused one of its pool
    (the same name keeps its colour in every later chart of the report)."""
    fixed = PALETTES.get(dimension, {})
    if name in fixed:
        return fixed[name]
    pool = dimension if dimension in POOLS else "other"
    if (pool, name) not in _TAKEN:
        used = sum(1 for p, _ in _TAKEN if p == pool)
        _TAKEN[(pool, name)] = POOLS[pool][used % len(POOLS[pool])]
    return _TAKEN[(pool, name)]


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def bars(table: pd.DataFrame, title: str, dimension: str, unit: str = "USD",
         legend_title: str | None = None) -> str:
    """Stacked bars: rows are months, columns the names of `dimension` (each its colour)."""
    fig, ax = plt.subplots(figsize=(11, 3.4))
    if table.empty or not table.to_numpy().any():
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center")
    else:
        table = table.loc[:, table.sum() > 0]
        table.plot(kind="bar", stacked=True, ax=ax, width=0.8,
                   color=[colour(dimension, str(c)) for c in table.columns])
        ax.legend(title=legend_title or dimension, fontsize=8, title_fontsize=8,
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _axes(ax, title, unit)
    return _svg(fig)


def lines(table: pd.DataFrame, title: str, dimension: str, unit: str) -> str:
    fig, ax = plt.subplots(figsize=(11, 3.0))
    for column in table.columns:
        ax.plot(range(len(table)), table[column], marker="o", label=str(column),
                color=colour(dimension, str(column)))
    ax.set_xticks(range(len(table)), table.index)
    ax.legend(title=dimension, fontsize=8, title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    _axes(ax, title, unit)
    return _svg(fig)


def fan(cost: pd.DataFrame, probability, title: str) -> str:
    """future x month costs: the P10-P90 band, P50 and every future as a thin line."""
    fig, ax = plt.subplots(figsize=(11, 3.4))
    x = range(cost.shape[1])
    order = cost.to_numpy().argsort(axis=0)
    values = np.take_along_axis(cost.to_numpy(), order, axis=0)
    weight = np.cumsum(np.asarray(probability)[order], axis=0)
    at = {q: values[(weight >= q - 1e-12).argmax(axis=0), np.arange(cost.shape[1])]
          for q in (0.1, 0.5, 0.9)}
    for i, row in enumerate(cost.to_numpy()):
        ax.plot(x, row, color="#777777", linewidth=0.8, label="each future" if i == 0 else None)
    ax.fill_between(x, at[0.1], at[0.9], color="#88CCEE", alpha=0.5, label="P10-P90")
    ax.plot(x, at[0.5], color="#332288", linewidth=2, label="P50")
    ax.set_xticks(list(x), cost.columns)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _axes(ax, title, "USD")
    return _svg(fig)


def curve(table: pd.DataFrame, x: str, y: str, title: str, unit: str) -> str:
    """One line per accelerator through its measured points (x ascending)."""
    fig, ax = plt.subplots(figsize=(11, 3.4))
    for i, (name, rows) in enumerate(table.dropna(subset=[y]).groupby("accelerator")):
        rows = rows.sort_values(x)  # markers and dashes differ: lines that coincide both show
        ax.plot(rows[x], rows[y], marker="osD^vPX*"[i % 8], linestyle=("-", "--", ":")[i % 3],
                markersize=7 - i % 3, label=name, color=colour("accelerator", name))
    ax.set_xlabel(header(x))
    ax.legend(title="accelerator", fontsize=8, title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    _axes(ax, title + " (log scale)", unit, rotate=False)
    ax.set_yscale("log")  # chips differ by 1,000x: on a linear axis most lines sit on zero
    ax.set_ylim(table[y].min() * 0.7, table[y].max() * 1.5)
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _: f"${v:,.4g}" if unit.startswith("USD") else f"{v:,.4g}"))
    return _svg(fig)


def _axes(ax, title: str, unit: str, rotate: bool = True) -> None:
    ax.set_title(title, fontsize=11, loc="left")
    if rotate:
        ax.set_xlabel("")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    if unit == "USD":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: short_money(v)))
    elif unit == "USD per 1M tokens":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.2f}"))
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_ylabel(unit)
    if ax.get_yscale() == "linear" and ax.has_data():  # every point inside the axes
        low, high = ax.get_ylim()
        ax.set_ylim(low, max(high, ax.dataLim.y1 * 1.05))
    ax.spines[["top", "right"]].set_visible(False)


def table_html(table: pd.DataFrame, limit: int = 200) -> str:
    if table.empty:
        return "<p class='none'>none</p>"
    shown = cells(table.head(limit))
    classes = [" class=wrap" if c in WRAPPING else " class=num"
               if pd.api.types.is_numeric_dtype(table[c]) else "" for c in table.columns]
    head = "".join(f"<th>{html.escape(header(str(c)))}</th>" for c in table.columns)
    rows = ["<tr>" + "".join(f"<td{cls}>{html.escape(v)}</td>"
                             for v, cls in zip(row, classes)) + "</tr>"
            for row in shown.itertuples(index=False)]
    more = f"<p class='none'>{len(table) - limit} more rows in the CSV/XLSX</p>" \
        if len(table) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


STYLE = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;
padding:0 16px;color:#222;font-size:14px}h1{font-size:22px;margin-bottom:4px}
h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}.meta{color:#555}
table{border-collapse:collapse;margin:8px 0;font-size:12px;max-width:100%}
th,td{border:1px solid #ddd;padding:3px 7px;white-space:nowrap}
th{background:#f3f3f3;text-align:left;white-space:normal}td.num{text-align:right}
td.wrap{white-space:normal;min-width:220px}.chart svg{width:100%;height:auto}
.chart,table{page-break-inside:avoid}.none{color:#666}
.cards{display:flex;gap:14px;flex-wrap:wrap;margin:12px 0}
.cards div{background:#f4f4f4;padding:8px 14px;border-left:4px solid #bbb;min-width:170px}
.cards b{display:block;font-size:19px}.cards .bad{border-color:#CC3311;background:#fbeae7}
.cards .warn{border-color:#EE7733;background:#fdf0e6}
.banner{background:#fbeae7;border:1px solid #CC3311;padding:8px 12px;font-weight:bold}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}
"""


def page(title: str, head: list[str], charts: list[str],
         sections: dict[str, pd.DataFrame]) -> str:
    """The report around its charts, drawn just before: the next report picks its pool
    colours afresh, so a report's colours never depend on what this process drew before."""
    _TAKEN.clear()
    parts = [f"<h1>{html.escape(title)}</h1>", *head]
    parts += [f"<div class='chart'>{svg}</div>" for svg in charts]
    parts += [f"<h2>{html.escape(name)}</h2>{table_html(table)}"
              for name, table in sections.items()]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(parts)}</body></html>")


def cards(items: list[tuple[str, str, str]]) -> str:
    """Headline figures: (label, value, style '' | 'bad' | 'warn')."""
    return "<div class='cards'>" + "".join(
        f"<div class='{cls}'>{html.escape(label)}<b>{html.escape(value)}</b></div>"
        for label, value, cls in items) + "</div>"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
