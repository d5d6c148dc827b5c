"""A plan's files for finance: CSV tables, plan.xlsx and report.html, written whole or not
at all (files.staged), into a folder checked before solving (files.check_destination)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from planner.model.plan import UNPROVEN, Plan, fingerprint_table
from planner.reports import html
from planner.reports.files import staged
from planner.reports.format import (
    count,
    gap_text,
    money,
    percent,
    rate,
    rounded,
    short_money,
)
from planner.reports.xlsx import write_xlsx

PURCHASE_SHOWN = ["provider", "region", "instance", "kind", "start", "instances", "chips",
                  "cost_in_horizon", "cost_after_horizon", "total_cost"]


def file_names() -> list[str]:
    return [f"{name}.csv" for name in Plan.TABLES] + ["plan.xlsx", "report.html"]


def write_csv(plan: Plan, folder: Path) -> list[Path]:
    """One CSV per table of the plan, money to cents and counts to 4 decimals."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in plan.tables().items():
        rounded(table).to_csv(folder / f"{name}.csv", index=False)
        written.append(folder / f"{name}.csv")
    return written


def write_reports(plan: Plan, folder: Path, extra: dict[str, pd.DataFrame]) -> Path:
    """CSV tables, plan.xlsx and report.html in `folder`, all or nothing."""
    with staged(folder) as tmp:
        write_csv(plan, tmp)
        write_xlsx(tmp / "plan.xlsx", _sheets(plan, extra))
        html.write(tmp / "report.html", report(plan, extra))
    return folder


def _sheets(plan: Plan, extra: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    about = pd.DataFrame([("scenario", plan.scenario.name, ""), ("status", plan.status, ""),
                          ("catalog", str(plan.scenario.catalog.path), ""),
                          ("solver gap (share of cost)", plan.solver["gap"], "share"),
                          ("solver bound", plan.solver["bound"], "USD"),
                          *(("warning", w, "") for w in plan.warnings)],
                         columns=["item", "value", "unit"])
    tables = {"summary": pd.concat([about, plan.summary()], ignore_index=True),
              **plan.tables(), **extra}
    tables.pop("spend", None)  # the long form stays in CSV; the sheets carry its breakdowns
    return tables


def _headline(plan: Plan) -> list[str]:
    s, scn = plan.solver, plan.scenario
    demand = plan.demand_total
    items = [("Total cost", money(plan.total_cost), ""),
             ("Inside the horizon", money(plan.spend["cost"].sum()), ""),
             ("Commitments after the horizon", money(plan.cost_after_horizon), ""),
             ("Per 1M output tokens", rate(plan.cost_per_million_tokens), "")]
    for table, label, cls in ((plan.unmet, "Unmet demand", "bad"),
                              (plan.unprotected, "Unprotected demand", "warn")):
        total = float(table["tokens_per_s"].sum())
        if total > 0:
            items.append((label, (f"{count(total)} tokens/s-months "
                                 f"({percent(total / demand)} of demand)"), cls))
    head = [(f"<p class='meta'>status <b>{plan.status}</b>; {scn.month_labels[0]} to "
            f"{scn.month_labels[-1]}; catalog {scn.catalog.path}; {s['name']}, "
            f"{gap_text(s, plan.total_cost)}</p>"), html.cards(items)]
    if plan.status in UNPROVEN:
        head.insert(0, f"<p class='banner'>Not proven optimal: the search stopped "
                       f"({gap_text(s, plan.total_cost)}).</p>")
    for line in plan.warnings:
        head.insert(0, f"<p class='banner'>{escape(line)}</p>")
    utilization = ", ".join(f"{w.name} {w.utilization:.0%}" for w in scn.workloads.values())
    head.append(f"<p>Tokens are the served peak output tokens/s held all month; capacity is "
                f"planned at utilization {utilization}.</p>")
    return head


def _charts(plan: Plan) -> list[str]:
    months = plan.scenario.month_labels
    spend = plan.spend

    def per_month(frame: pd.DataFrame, column: str, values: str, index: str = "month"):
        return frame.pivot_table(index=index, columns=column, values=values,
                                 aggfunc="sum").reindex(months).fillna(0.0)

    unit = plan.unit_costs().pivot_table(index="month", columns="workload",
                                         values="usd_per_1m_tokens").reindex(months)
    charts = [html.bars(per_month(spend, "provider", "cost"), "Cost per month by provider",
                        "provider"),
              html.bars(per_month(spend, "kind", "cost"), "Cost per month by purchase kind",
                        "kind"),
              html.bars(per_month(spend, "accelerator", "chips"), "Chips held per accelerator",
                        "accelerator", unit="chips"),
              html.lines(unit, "Cost per 1M output tokens, per workload (peak rate all month)",
                         "workload", "USD per 1M tokens")]
    if len(plan.unmet):
        charts.insert(0, html.bars(per_month(plan.unmet, "market", "tokens_per_s"),
                                   "Unmet demand per month, by market", "market",
                                   unit="tokens/s"))
    if len(plan.unprotected):
        charts.insert(0, html.bars(per_month(plan.unprotected, "failed", "tokens_per_s"),
                                   "Unprotected demand per month: lost beyond the kept share "
                                   "if this provider or region failed", "failed",
                                   unit="tokens/s"))
    return charts


def report(plan: Plan, extra: dict[str, pd.DataFrame]) -> str:
    sections = {"Unmet demand": plan.unmet, "Unprotected demand": plan.unprotected,
                "Cost per provider": plan.cost_by("provider").reset_index(),
                "Cost per accelerator": plan.cost_by("accelerator").reset_index(),
                "Cost per kind": plan.cost_by("kind").reset_index(),
                "Cost per 1M output tokens per workload": plan.cost_per_workload(),
                "Signed contracts (used: share of their chip-months serving)":
                    plan.contracts(),
                "Purchases": plan.purchases[PURCHASE_SHOWN],
                "What to deploy: instances and the replicas on each (largest first)":
                    plan.deployment[["month", "provider", "region", "instance", "kind",
                                     "instances", "replicas", "layout"]],
                **extra,
                "Fingerprint: what this plan was made from (sha256)":
                    fingerprint_table(plan.fingerprint)}
    sections = {k: v for k, v in sections.items()
                if len(v) or not k.startswith(("Unmet", "Unprotected", "Signed"))}
    return html.page(f"{plan.scenario.name}: plan", _headline(plan), _charts(plan), sections)


FUTURES_TABLES = ("summary", "futures", "commitments", "flexible", "cost_by_future_and_month")
FUTURES_HEADINGS = {"summary": "Summary", "futures": "Each future under these commitments",
                    "commitments": "Commitments to sign (the same in every future)",
                    "flexible": "On-demand and spot instances each future buys",
                    "cost_by_future_and_month": "Cost per future and month"}


def futures_file_names() -> list[str]:
    return [f"{name}.csv" for name in FUTURES_TABLES] + ["plan.xlsx", "report.html"]


def futures_tables(fp) -> dict[str, pd.DataFrame]:
    by_month = fp.cost_by_month().rename_axis("future").reset_index().melt(
        id_vars="future", var_name="month", value_name="cost")
    return {"summary": fp.summary(), "futures": fp.futures(), "commitments": fp.commitments(),
            "flexible": fp.flexible(), "cost_by_future_and_month": by_month}


def write_futures_reports(fp, folder: Path) -> Path:
    """CSV tables, plan.xlsx and report.html of a plan across futures, all or nothing."""
    tables = futures_tables(fp)
    with staged(folder) as tmp:
        for name, table in tables.items():
            rounded(table).to_csv(tmp / f"{name}.csv", index=False)
        write_xlsx(tmp / "plan.xlsx", tables)
        html.write(tmp / "report.html", futures_report(fp, tables))
    return folder


def futures_report(fp, tables: dict[str, pd.DataFrame]) -> str:
    scn, s = fp.scenario, fp.solver
    items = [("Expected cost", money(fp.expected_cost), ""),
             ("P10 / P50 / P90", " / ".join(short_money(fp.quantile(q))
                                            for q in (0.1, 0.5, 0.9)), ""),
             (f"CVaR {scn.futures.alpha:.0%}", money(fp.cvar), ""),
             ("Commitments to sign", money(tables["commitments"]["total_cost"].sum()), "")]
    for name, what in (("Value of the stochastic solution", fp.vss),
                       ("Expected value of perfect information", fp.evpi)):
        if what is not None:
            items.append((name, money(what.value), "") if what.value is not None else
                         (name, f"{short_money(what.low)} to {short_money(what.high)}",
                          "warn"))
    if fp.shortfall:
        items.append((f"Demand {fp.shortfall} in some future", "see the futures table",
                      "bad" if fp.shortfall == "unmet" else "warn"))
    head = [(f"<p class='meta'>status <b>{fp.status}</b>; {len(fp.plans)} futures; "
            f"{scn.month_labels[0]} to {scn.month_labels[-1]}; catalog {scn.catalog.path}; "
            f"{s['name']}, {gap_text(s, fp.expected_cost)}</p>"), html.cards(items)]
    charts = [html.fan(fp.cost_by_month(), fp.probability,
                       "Cost per month across futures (P10-P90 band, P50, each future)"),
              html.lines(_committed_vs_need(fp), "Chips committed and chips each future holds",
                         "holding", "chips")]
    titled = {FUTURES_HEADINGS.get(name, name): table for name, table in tables.items()}
    return html.page(f"{scn.name}: plan across futures", head, charts, titled)


def _committed_vs_need(fp) -> pd.DataFrame:
    """month x (committed, each future's chips held): chips."""
    months = fp.scenario.month_labels
    held = {name: p.spend.groupby("month")["chips"].sum().reindex(months, fill_value=0.0)
            for name, p in zip(fp.scenario.futures.names, fp.plans)}
    spend = fp.plans[0].spend
    committed = spend[spend["kind"].str.startswith("commit")].groupby("month")["chips"] \
        .sum().reindex(months, fill_value=0.0)
    table = pd.DataFrame({"committed": committed, **held})
    return table.iloc[:, :13]  # committed and at most 12 futures stay readable
