"""Finance exports of a plan: one XLSX workbook and one self-contained, printable HTML page."""

from __future__ import annotations

import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from planner.report import Plan

MONEY_COLUMNS = {"cost", "monthly_cost", "cost_in_horizon", "cost_after_horizon",
                 "total_cost", "a", "b", "delta", "$/1M tokens", "usd_per_1m_tokens"}
USD = '"$"#,##0.00'
PURCHASE_SHOWN = ["provider", "region", "instance", "kind", "start", "instances", "chips",
                  "cost_in_horizon", "cost_after_horizon", "total_cost"]


def _sheets(plan: Plan, extra: dict[str, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
    head = pd.DataFrame([("scenario", plan.scenario.name), ("status", plan.status)],
                        columns=["item", "value"])
    summary = pd.concat([head, plan.summary()], ignore_index=True)
    tables = {"summary": summary, **plan.tables(), **(extra or {})}
    tables.pop("spend", None)  # the long form stays in CSV; the sheets carry its breakdowns
    return tables


def write_xlsx(plan: Plan, path: Path, extra_tables: dict[str, pd.DataFrame] | None = None
               ) -> Path:
    """One sheet per table, the summary first; numbers stay numbers, money in USD format."""
    from openpyxl.styles import Font

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in _sheets(plan, extra_tables).items():
            sheet_name = name[:31]
            table.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            sheet.freeze_panes = "A2"
            for i, column in enumerate(table.columns, start=1):
                cells = sheet.iter_rows(min_row=1, max_row=sheet.max_row, min_col=i, max_col=i)
                letter = sheet.cell(row=1, column=i).column_letter
                sheet.cell(row=1, column=i).font = Font(bold=True)
                width = max([len(str(column))] + [len(str(v)) for v in table[column].head(200)])
                sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
                if column in MONEY_COLUMNS:
                    for (cell,) in list(cells)[1:]:
                        cell.number_format = USD
            if name == "summary":
                for row in range(2, sheet.max_row + 1):
                    label = str(sheet.cell(row=row, column=1).value)
                    if "cost" in label or "spend" in label or "commitments" in label or \
                            "contracts" in label or "$" in label:
                        sheet.cell(row=row, column=2).number_format = USD
    return path


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _stacked(table: pd.DataFrame, title: str, ylabel: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    if table.empty:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center")
    else:
        table.plot(kind="bar", stacked=True, ax=ax, width=0.8, legend=table.shape[1] > 1)
        if table.shape[1] > 1:
            ax.legend(fontsize=8, ncol=4, loc="lower left", framealpha=0.9)
    ax.set_title(title, fontsize=11)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _svg(fig)


def charts(plan: Plan) -> list[str]:
    """Cost per month by provider and by kind, chips per accelerator, $ per 1M tokens."""
    months = plan.scenario.month_labels
    spend = plan.spend
    by = {c: spend.pivot_table(index="month", columns=c, values="cost", aggfunc="sum")
          .reindex(months).fillna(0.0) for c in ("provider", "kind")}
    chips = spend.pivot_table(index="month", columns="accelerator", values="chips",
                              aggfunc="sum").reindex(months).fillna(0.0)
    tokens = plan.served_millions().groupby(plan.served["month"]).sum().reindex(months)
    unit = (plan.cost_by_month / tokens).rename("$ per 1M output tokens").to_frame()
    return [_stacked(by["provider"], "Cost per month by provider", "USD"),
            _stacked(by["kind"], "Cost per month by purchase kind", "USD"),
            _stacked(chips, "Chips held per accelerator", "chips"),
            _stacked(unit, "$ per 1M output tokens (served at peak rate all month)", "USD")]


def _html_table(table: pd.DataFrame, limit: int = 200) -> str:
    if table.empty:
        return "<p class='none'>none</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for _, row in table.head(limit).iterrows():
        cells = []
        for column, value in row.items():
            if column in MONEY_COLUMNS and pd.notna(value):
                text = f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
            elif isinstance(value, float):
                text = "" if pd.isna(value) else f"{value:,.4g}" if abs(value) < 1e4 \
                    else f"{value:,.0f}"
            else:
                text = str(value)
            cls = " class='num'" if isinstance(value, (int, float)) else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='none'>{len(table) - limit} more rows in the CSV/XLSX</p>" \
        if len(table) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


STYLE = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;
color:#222;font-size:14px}h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;
border-bottom:1px solid #ccc}.status{font-weight:bold}.unmet{color:#b00020}
table{border-collapse:collapse;margin:8px 0;font-size:12px;max-width:100%}th,td{border:1px solid #ddd;
padding:3px 7px}th{background:#f3f3f3;text-align:left}td.num{text-align:right}
.chart svg{max-width:100%;height:auto}.chart,table{page-break-inside:avoid}.none{color:#666}
.kpi{display:flex;gap:24px;flex-wrap:wrap}.kpi div{background:#f7f7f7;padding:8px 12px}
.kpi b{display:block;font-size:18px}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}
"""


def write_html(plan: Plan, path: Path, extra_tables: dict[str, pd.DataFrame] | None = None
               ) -> Path:
    """One self-contained page: inline CSS and SVG charts, no external resources."""
    utilization = ", ".join(f"{w.name} {w.utilization:.0%}"
                            for w in plan.scenario.workloads.values())
    kpis = [("Total cost", f"${plan.total_cost:,.0f}"),
            ("Inside the horizon", f"${plan.spend['cost'].sum():,.0f}"),
            ("Commitments after the horizon", f"${plan.cost_after_horizon:,.0f}"),
            ("$ per 1M output tokens", f"${plan.cost_per_million_tokens:,.2f}")]
    status = "unmet" if plan.status == "unmet_demand" else ""
    kpi_html = "".join(f"<div>{k}<b>{v}</b></div>" for k, v in kpis)
    parts = [f"<h1>{html.escape(plan.scenario.name)}</h1>",
             (f"<p class='status {status}'>status: {html.escape(plan.status)}; "
              f"{plan.scenario.month_labels[0]} to {plan.scenario.month_labels[-1]}</p>"),
             f"<div class='kpi'>{kpi_html}</div>",
             (f"<p>Tokens are the served peak output tokens/s held all month; capacity is "
              f"planned at utilization {html.escape(utilization)}.</p>")]
    parts += [f"<div class='chart'>{svg}</div>" for svg in charts(plan)]
    sections = {"Cost per provider": plan.cost_by("provider").reset_index(),
                "Cost per accelerator": plan.cost_by("accelerator").reset_index(),
                "Cost per kind": plan.cost_by("kind").reset_index(),
                "Cost per 1M output tokens per workload and month": plan.unit_costs(),
                "Purchases": plan.purchases[PURCHASE_SHOWN], "Unmet demand": plan.unmet,
                **(extra_tables or {})}
    for title, table in sections.items():
        cls = " class='unmet'" if title == "Unmet demand" and len(table) else ""
        parts.append(f"<h2{cls}>{html.escape(title)}</h2>{_html_table(table)}")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(plan.scenario.name)}: plan</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}</body></html>")
    path.write_text(page, encoding="utf-8")
    return path
