"""Tables on a terminal of any width: the names that identify a row are never squeezed.

A table that does not fit is split: each part repeats the identifying columns and carries
as many of the others as fit. Free text (a meaning, a reason) wraps. Rows past a limit are
counted in a caption that says where the whole table is.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from planner.reports.format import WRAPPING, by_unit, cells, gap_text, header, kind, money

MIN_TEXT = 24  # free text (WRAPPING) wraps, but not narrower than this
SHORT_HEADER = 10  # characters of a header never wrapped


def _width(texts: pd.Series, title: str, wraps: bool) -> int:
    longest = int(texts.map(len).max()) if len(texts) else 0
    words = header(title)  # a short header stays on one line, a long one wraps at spaces
    head = len(words) if len(words) <= SHORT_HEADER else max(map(len, words.split()))
    if wraps:
        return max(min(longest, MIN_TEXT), head)
    return max(longest, head, 1)


def _need(widths: list[int]) -> int:
    """Characters a Rich table with these column widths takes (padding and borders)."""
    return sum(w + 3 for w in widths) + 1


def _layout(frame: pd.DataFrame, shown: pd.DataFrame, width: int,
            ids: list[str] | None = None):
    """(identifying columns, groups of the other columns that fit beside them, widths).
    The identifying columns are `ids`, or every text column but free text."""
    if ids is None:
        ids = [c for c in frame.columns if kind(c, frame[c]) == "text" and c not in WRAPPING]
    rest = [c for c in frame.columns if c not in ids]
    widths = {c: _width(shown[c], c, c in WRAPPING) for c in frame.columns}
    groups: list[list[str]] = [[]]
    for column in rest:
        if groups[-1] and _need([widths[c] for c in ids + groups[-1] + [column]]) > width:
            groups.append([])
        groups[-1].append(column)
    return ids, groups, widths


def fits(frame: pd.DataFrame, width: int, limit: int = 40) -> bool:
    """Whether `frame` fits `width` as one table."""
    shown = cells(frame.head(limit))
    _ids, groups, widths = _layout(frame, shown, width)
    return len(groups) == 1 and _need([widths[c] for c in frame.columns]) <= width


def tables(frame: pd.DataFrame, title: str, width: int, limit: int = 40,
           more: str = "see --out DIR or --format json",
           ids: list[str] | None = None) -> list[tuple[str, Table]]:
    """`frame` as (title, Rich table) pairs that fit `width` columns."""
    shown = cells(frame.head(limit))
    ids, groups, widths = _layout(frame, shown, width, ids)
    if len(ids) > 1 and _need([widths[c] for c in ids + groups[0][:1]]) > width:
        # the names side by side are too wide: one column of them, wrapped between names
        merged = " / ".join(header(c) for c in ids)
        frame = pd.concat([frame[ids].astype(str).agg("  ".join, axis=1).rename(merged),
                           frame.drop(columns=ids)], axis=1)
        shown = cells(frame.head(limit))
        longest = max(len(n) for n in " ".join(shown[merged]).split())
        others = [_width(shown[c], c, c in WRAPPING) for c in frame.columns if c != merged]
        room = width - _need(others) - 3  # what the other columns leave it
        cap = max(longest, room if room >= longest else width // 2)
        ids, groups, widths = _layout(frame, shown.assign(**{merged: shown[merged].str[:cap]}),
                                      width)
        widths[merged] = cap
    if _need([widths[c] for c in ids + groups[0][:1]]) > width:
        return [(title, _long(shown))]
    out = []
    for i, group in enumerate(groups):
        part = f" ({i + 1}/{len(groups)})" if len(groups) > 1 else ""
        table = Table()
        for column in ids + group:
            numeric = kind(column, frame[column]) != "text"
            # never narrower than the longest cell (names stay whole); headers wrap at spaces
            wraps = column in WRAPPING or " / " in column
            title_ = textwrap.fill(header(column), widths[column], break_long_words=False)
            table.add_column(title_, justify="right" if numeric else "left",
                             min_width=None if wraps else widths[column],
                             max_width=widths[column] if " / " in column else None,
                             overflow="fold")
        for _, row in shown[ids + group].iterrows():
            table.add_row(*row.tolist())
        out.append((title + part, table))
    if len(frame) > limit:
        out[-1][1].caption = f"{len(frame) - limit} more rows: {more}"
    return out


def _long(shown: pd.DataFrame) -> Table:
    """When even the names do not fit side by side: one row per field."""
    table = Table(show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    for i, (_, row) in enumerate(shown.iterrows()):
        if i:
            table.add_section()
        for column, value in row.items():
            table.add_row(header(column), value)
    return table


def show(console: Console, frame: pd.DataFrame, title: str, **kw) -> None:
    """Print `frame` under its title (a line of its own: titles never wrap in a column)."""
    for heading, table in tables(frame, title, console.width, **kw):
        console.print(f"[bold]{heading}[/]", highlight=False)
        console.print(table)


# --- what the commands print -------------------------------------------------------------

def headline(plan) -> str:
    s = plan.solver
    gap = gap_text(s, plan.total_cost)
    return (f"[bold]{plan.scenario.name}[/]: {plan.status}, total cost "
            f"[bold]{money(plan.total_cost)}[/]\n"
            f"catalog {plan.scenario.catalog.path}; {s['name']}, {s['seconds']:.1f} s, "
            f"{gap}, {s['variables']:,} variables, {s['constraints']:,} rows")


def deploy_lines(plan) -> pd.DataFrame:
    """The deployment table in words: month, provider, region, kind and what to deploy
    (`8 x p5.48xlarge: 2 replicas of chat (llama-2-70b, 4 chips, fp8)`)."""
    d = plan.deployment
    count = d["instances"].map(lambda n: "" if pd.isna(n) else f"{n:g}" if n == round(n)
                               else f"{n:.2f}")
    what = np.where(d["instance"] == "", d["chips"].map(lambda c: f"{c:g} signed chips")
                    + ": " + d["layout"], count + " x " + d["instance"] + ": " + d["layout"])
    return pd.DataFrame({"month": d["month"], "where": d["provider"] + " " + d["region"],
                         "kind": d["kind"], "deploy": what})


def print_plan(console: Console, plan) -> None:
    console.print(headline(plan), highlight=False)
    for line in plan.warnings:
        console.print(line, style="yellow", highlight=False, markup=False)
    summary = plan.summary()
    summary = summary.assign(value=[by_unit(v, u) for v, u in
                                    zip(summary["value"], summary["unit"])])
    show(console, summary[["item", "value"]].rename(columns={"item": "figure"}), "Summary",
         ids=["figure"])
    months = plan.cost_by_month.rename_axis("month").reset_index()
    show(console, months, "Cost per month (inside the horizon)", limit=60)
    for by in ("provider", "accelerator", "kind"):
        table = plan.cost_by(by).reset_index().sort_values("cost", ascending=False)
        show(console, table, f"Cost per {by} (inside the horizon)")
    show(console, plan.cost_per_workload(), "Cost per 1M output tokens (peak rate all month, "
         "capacity planned at the stated utilization)")
    contracts = plan.contracts()
    if len(contracts):
        show(console, contracts, "Signed contracts (paid whatever the plan does; used: the "
             "share of their chip-months that serve demand)")
    bought = plan.purchases
    commits = bought[bought["kind"].str.startswith("commit")]
    if len(commits):
        show(console, commits[["provider", "region", "instance", "term_months", "start",
                               "instances", "chips", "monthly_cost", "cost_in_horizon",
                               "cost_after_horizon", "total_cost"]], "Commitments to buy")
    flexible = bought[~bought["kind"].str.startswith("commit")]
    if len(flexible):
        keys = ["provider", "region", "instance", "kind"]
        pivot = flexible.pivot_table(index=keys, columns="start", values="instances",
                                     aggfunc="sum", fill_value=0).reset_index()
        pivot.columns = [str(c) for c in pivot.columns]
        if fits(pivot, console.width):
            show(console, pivot, "On-demand and spot instances per month")
        else:  # too many months side by side: one row per month and holding
            show(console, flexible[["start", *keys, "instances"]].rename(
                columns={"start": "month"}), "On-demand and spot instances, per month",
                limit=60)
    if len(plan.deployment):
        show(console, deploy_lines(plan), "What to deploy: instances, and the replicas on "
             "each (largest first)", ids=["month", "where", "kind"], limit=40,
             more="see --out DIR: deployment.csv")
    if len(plan.unmet):
        show(console, plan.unmet, "[red]Unmet demand (tokens/s)[/]")
    if len(plan.unprotected):
        show(console, plan.unprotected, "[yellow]Unprotected demand: tokens/s lost beyond "
             "the kept share if this provider or region failed[/]")


def print_explain(console: Console, plan, why) -> None:
    console.print(headline(plan), highlight=False)
    if why.binding.empty:
        console.print("No capacity limit, share cap, budget, spot cap, resilience row or "
                      "contract binds: the plan buys the cheapest way to serve.")
    else:
        if why.unit != "USD":
            console.print("Demand is short: each value is the demand one more unit would "
                          "serve (tokens/s), not dollars.")
        if why.basis == "relaxation":
            console.print("Whole-instance plan: these values come from its LP relaxation "
                          "(fractional instances), not from the plan itself.")
        show(console, why.binding[["constraint", "month", "meaning"]],
             "Binding constraints, by kind, largest value first", limit=25)
    if len(why.residency):
        show(console, why.residency[["workload", "market", "meaning"]], "Residency")
    if len(why.unmet):
        show(console, why.unmet, "[red]Unmet demand: what stood in the way[/]")
    if len(why.fit):
        show(console, why.fit[["workload", "reason"]], "Instances no replica fits (a "
             "replica never spans instances)", limit=20)


def print_diff(console: Console, tables: dict[str, pd.DataFrame], a: str, b: str) -> None:
    from planner.reports.diff import headline

    console.print(headline(tables), highlight=False, soft_wrap=True)
    sides = tables["sides"].set_index("side").T
    shown = pd.DataFrame({"figure": [SIDE_WORDS[i] for i in sides.index],
                          **{k: [_side(i, v) for i, v in sides[k].items()] for k in ("A", "B")}})
    show(console, shown, f"Each side: A = {a}, B = {b}", ids=["figure"])
    tables = {k: v for k, v in tables.items() if k != "sides"}
    tables = {**tables, "purchases": tables["purchases"][
        ["provider", "region", "instance", "kind", "start", "instances_a", "instances_b",
         "delta"]]}  # the instance names the accelerator; A and B costs are in --out
    for name, table in tables.items():
        show(console, table, f"{name}: A = {a}, B = {b}", limit=30,
             more="see diff --out DIR or --format json")


SIDE_WORDS = {"status": "status", "unmet": "unmet demand (tokens/s-months)",
              "unmet_share": "unmet share of demand",
              "unprotected": "unprotected demand (tokens/s-months)",
              "unprotected_share": "unprotected share of demand", "gap": "proof gap",
              "cost_per_1m_tokens": "cost per 1M output tokens served",
              "total_cost": "total cost", "catalog": "catalog (sha256 of its tables)"}


def _side(item: str, value) -> str:
    if isinstance(value, str):
        return value
    if pd.isna(value):
        return "-"
    if item.endswith("share") or item == "gap":
        return f"{value:.3%}"
    if item == "cost_per_1m_tokens":
        return f"${value:,.3f}"
    return money(value) if item == "total_cost" else f"{value:,.1f}"


def print_futures(console: Console, fp) -> None:
    s, scn = fp.solver, fp.scenario
    console.print(f"[bold]{scn.name}[/]: {fp.status}, expected cost "
                  f"[bold]{money(fp.expected_cost)}[/] over {len(fp.plans)} futures\n"
                  f"catalog {scn.catalog.path}; {s['name']}, {s['seconds']:.1f} s, "
                  f"{gap_text(s, fp.expected_cost)}", highlight=False)
    summary = fp.summary().dropna(subset=["value"])
    summary = summary.assign(value=[by_unit(v, u) for v, u in
                                    zip(summary["value"], summary["unit"])])
    show(console, summary[["item", "value"]].rename(columns={"item": "figure"}), "Summary",
         ids=["figure"])
    commitments = fp.commitments()
    if len(commitments):
        show(console, commitments[["provider", "region", "instance", "term_months", "start",
                                   "instances", "chips", "monthly_cost", "total_cost"]],
             "Commitments to sign (the same in every future)")
    else:
        console.print("No commitments to sign: every future buys on-demand or spot.")
    show(console, fp.futures(), "Each future under these commitments")
    flexible = fp.flexible()
    if len(flexible):
        keys = ["future", "provider", "region", "instance", "kind"]
        pivot = flexible.pivot_table(index=keys, columns="month", values="instances",
                                     aggfunc="sum", fill_value=0).reset_index()
        pivot.columns = [str(c) for c in pivot.columns]
        if fits(pivot, console.width):
            show(console, pivot, "On-demand and spot instances each future buys, per month")
        else:
            show(console, flexible[["future", "month", *keys[1:], "instances"]],
                 "On-demand and spot instances each future buys, per month", limit=60)
