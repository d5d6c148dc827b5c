"""`plan`: a thin Typer layer over the library. Exit 0 met, 3 unmet, 2 bad input, 1 else."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from planner import catalog_report
from planner.catalog import BUNDLED, load_catalog
from planner.errors import PlanError
from planner.pipeline import solve as solve_plan
from planner.pipeline import solve_and_explain
from planner.scenario import load_scenario
from planner.solver import Progress, SolverFailed

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Plan where AI inference runs: cloud, region, chip and purchase kind.")
# Piped or redirected output keeps whole tables (Rich would assume 80 columns); COLUMNS wins.
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err = Console(stderr=True)
EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_UNMET, EXIT_UNPROTECTED = 0, 1, 2, 3, 4
ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file")]


class Format(str, Enum):
    table = "table"
    json = "json"


def fail(code: int, message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(run, status: str | None = None):
    """Run `run()`: user mistakes exit 2 with one line, anything else exits 1 (no traceback).
    With `status`, a spinner on a terminal's stderr says what is running; `run` may take
    a `progress` callback that shows the solver's course past a couple of seconds."""
    try:
        with spinner(status) as progress:
            return run(progress) if run.__code__.co_argcount else run()
    except PlanError as exc:
        fail(EXIT_INPUT, f"error: {exc}")
    except SolverFailed as exc:
        fail(EXIT_FAILED, f"error: {exc}")
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback
        fail(EXIT_FAILED, f"error: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def spinner(status: str | None):
    """A spinner on a terminal's stderr; yields a progress callback (None when silent)."""
    if not status or not err.is_terminal:
        yield None
        return
    started, shown = time.perf_counter(), [0.0]
    with err.status(status) as line:
        def progress(p: Progress) -> None:
            now = time.perf_counter()
            if now - started < 2 or now - shown[0] < 0.25:
                return
            shown[0] = now
            fmt = money if "cost" in p.stage else (lambda v: f"{v:,.1f} tokens/s")
            best = fmt(p.best) if math.isfinite(p.best) else "none yet"
            found = f"best {best}, bound {fmt(p.bound)}" if math.isfinite(p.bound) else \
                f"best {best}"
            gap = f", gap {(p.best - p.bound) / abs(p.best):.3%}" \
                if math.isfinite(p.best) and math.isfinite(p.bound) and p.best else ""
            line.update(f"{status} {now - started:.0f} s: {p.stage}, {found}{gap}")
        yield progress


def money(value: float) -> str:
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.3g}" if abs(value) < 1 \
        else f"${value:,.2f}"


def render(df: pd.DataFrame, title: str, money_cols=(), limit: int = 40) -> Table:
    """A DataFrame as a Rich table: money columns as dollars, numbers right-aligned."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left",
                         no_wrap=numeric, overflow="ellipsis" if numeric else "fold")
    for _, row in df.head(limit).iterrows():
        cells = []
        for col in df.columns:
            v = row[col]
            if col in money_cols and pd.notna(v):
                cells.append(money(v))
            elif isinstance(v, float):
                cells.append("" if pd.isna(v) else f"{v:,.6g}" if abs(v) < 1e3 else f"{v:,.0f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    if len(df) > limit:
        table.caption = f"{len(df) - limit} more rows: see --out or --format json"
    return table


def print_warnings(scn) -> None:
    """Settings that are valid but do nothing: one line each on stderr."""
    for line in scn.warnings:
        err.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario and its catalog; solve nothing."""
    scn = guarded(lambda: load_scenario(scenario))
    print_warnings(scn)
    out.print(f"{scenario}: ok - {len(scn.workloads)} workload(s), {len(scn.markets)} "
              f"market(s), {scn.months} months from {scn.month_labels[0]}, catalog "
              f"{scn.catalog.path}")


@app.command()
def solve(scenario: ScenarioArg,
          format: Annotated[Format, typer.Option("--format", help="table or json")] =
          Format.table,
          out_dir: Annotated[Path | None, typer.Option(
              "--out", help="Write CSV tables, plan.xlsx and report.html here")]
          = None,
          time_limit: Annotated[float | None, typer.Option(help="Seconds")] = None,
          gap: Annotated[float | None, typer.Option(help="Relative MIP gap")] = None,
          threads: Annotated[int | None, typer.Option(help="Solver threads")] = None,
          solver: Annotated[str, typer.Option(help="auto, highs, pulp-highs or cbc")] = "auto",
          ) -> None:
    """Solve a scenario and print the plan. Exit 3 when demand is left unmet."""
    scn = guarded(lambda: load_scenario(scenario))
    print_warnings(scn)
    plan, why = guarded(lambda progress: solve_and_explain(
        scn, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
        progress=progress, why=out_dir is not None), f"Solving {scenario}")
    if out_dir is not None:
        guarded(lambda: write_reports(plan, why, out_dir), "Writing reports...")
    if format is Format.json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2) + "\n")
    else:
        print_plan(plan)
    if plan.status == "time_limit":
        warn_unproven(plan)
    raise typer.Exit(exit_code(plan))


def warn_unproven(plan) -> None:
    """Say on stderr, loudly, that a plan stopped by the time limit is not proven."""
    s = plan.solver
    err.print(f"[bold red]NOT PROVEN OPTIMAL[/]: the search stopped after {s['seconds']:.0f} s "
              f"(time limit or default patience). A plan may exist up to "
              f"{money(plan.total_cost - s['bound'])} ({s['gap']:.2%}) cheaper than this one "
              f"(best bound {money(s['bound'])}); --time-limit or --gap search longer.",
              highlight=False, soft_wrap=True)


def exit_code(plan) -> int:
    """3 when demand is left unmet, 4 when all is met but some is unprotected, else 0."""
    return {"unmet": EXIT_UNMET, "unprotected": EXIT_UNPROTECTED}.get(plan.shortfall, EXIT_OK)


def write_reports(plan, why, folder: Path) -> None:
    """CSV tables, plan.xlsx and report.html in `folder`."""
    from planner.export import write_html, write_xlsx

    plan.write_csv(folder)
    extra = {"binding constraints": why.binding, "unmet reasons": why.unmet}
    write_xlsx(plan, folder / "plan.xlsx", extra)
    write_html(plan, folder / "report.html", extra)


def print_plan(plan) -> None:
    s = plan.solver
    out.print(f"[bold]{plan.scenario.name}[/]: {plan.status}, total cost "
              f"[bold]{money(plan.total_cost)}[/] ({s['name']}, {s['seconds']} s, "
              f"gap {s['gap']:.2g}, {s['variables']} variables, {s['constraints']} rows)")
    out.print(render(plan.summary(), "Summary", money_cols=()))
    months = plan.cost_by_month.rename_axis("month").reset_index()
    out.print(render(months, "Cost per month", money_cols=("cost",), limit=60))
    for by in ("provider", "accelerator", "kind"):
        table = plan.cost_by(by).reset_index().sort_values("cost", ascending=False)
        out.print(render(table, f"Cost per {by} (inside the horizon)", money_cols=("cost",)))
    unit = plan.unit_costs().groupby("workload").agg(
        tokens_millions=("tokens_millions", "sum"), cost=("cost", "sum"),
        utilization=("utilization", "first"))
    unit["$/1M tokens"] = unit["cost"] / unit["tokens_millions"].where(unit["tokens_millions"] > 0)
    out.print(render(unit.reset_index(), "Cost per 1M output tokens (peak rate all month, "
                     "capacity planned at the stated utilization)",
                     money_cols=("cost", "$/1M tokens")))
    commits = plan.purchases[plan.purchases["kind"].str.startswith("commit")]
    if len(commits):
        out.print(render(commits.drop(columns=["kind"]), "Commitments to buy",
                         money_cols=("monthly_cost", "cost_in_horizon", "cost_after_horizon",
                                     "total_cost")))
    flexible = plan.purchases[~plan.purchases["kind"].str.startswith("commit")]
    if len(flexible):
        pivot = flexible.pivot_table(index=["provider", "region", "instance", "kind"],
                                     columns="start", values="instances", aggfunc="sum",
                                     fill_value=0).reset_index()
        out.print(render(pivot, "On-demand and spot instances per month"))
    if len(plan.unmet):
        out.print(render(plan.unmet, "[red]Unmet demand (tokens/s)[/]"))
    if len(plan.unprotected):
        out.print(render(plan.unprotected, "[yellow]Unprotected demand: tokens/s lost beyond "
                         "the kept share if this provider or region failed[/]"))


@app.command()
def explain(scenario: ScenarioArg,
            format: Annotated[Format, typer.Option("--format", help="table or json")] =
            Format.table,
            solver: Annotated[str, typer.Option(help="auto or highs")] = "auto") -> None:
    """Which constraints bind, what one more unit is worth, and why demand is unmet."""
    plan, why = guarded(lambda: solve_and_explain(scenario, solver=solver),
                        f"Solving and explaining {scenario}...")
    if format is Format.json:
        records = {name: json.loads(getattr(why, name).to_json(orient="records"))
                   for name in ("binding", "residency", "unmet")}
        sys.stdout.write(json.dumps({"status": plan.status, "total_cost": plan.total_cost,
                                     "unit": why.unit, "basis": why.basis, **records},
                                    indent=2) + "\n")
    else:
        out.print(f"[bold]{plan.scenario.name}[/]: {plan.status}, total cost "
                  f"[bold]{money(plan.total_cost)}[/]")
        if why.binding.empty:
            out.print("No capacity limit, share cap, budget, spot cap, resilience row or "
                      "contract binds: the plan buys the cheapest way to serve.")
        else:
            if why.basis == "relaxation":
                out.print("Whole-instance plan: these values come from its LP relaxation "
                          "(fractional instances), not from the plan itself.")
            out.print(render(why.binding[["constraint", "month", "meaning"]],
                             "Binding constraints (largest effect first)", limit=25))
            if why.unit != "USD":
                out.print("Demand is short: each value is the demand one more unit would "
                          "serve (tokens/s), not dollars.")
        if len(why.residency):
            out.print(render(why.residency[["workload", "market", "meaning"]], "Residency"))
        if len(why.unmet):
            out.print(render(why.unmet, "[red]Unmet demand: what stood in the way[/]"))
    raise typer.Exit(exit_code(plan))


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command()
def diff(a: Annotated[Path, typer.Argument(help="Scenario YAML or `plan solve` JSON")],
         b: Annotated[Path, typer.Argument(help="Scenario YAML or `plan solve` JSON")],
         format: Annotated[DiffFormat, typer.Option("--format")] = DiffFormat.table) -> None:
    """What changes from plan A to plan B: cost per month, provider, chip, kind, purchases."""
    from planner import diff as plan_diff

    def load(path: Path):
        if path.suffix == ".json":
            return plan_diff.load_result(path)
        return solve_plan(path)

    tables = guarded(lambda: plan_diff.diff(load(a), load(b)), f"Solving {a} and {b}...")
    if format is DiffFormat.json:
        sys.stdout.write(json.dumps({k: json.loads(v.to_json(orient="records"))
                                     for k, v in tables.items()}, indent=2) + "\n")
    elif format is DiffFormat.csv:
        frames = [t.rename(columns={t.columns[0]: "key"}).assign(table=name)
                  for name, t in tables.items() if name != "purchases"]
        pd.concat(frames)[["table", "key", "a", "b", "delta", "pct"]].to_csv(
            sys.stdout, index=False)
    else:
        tables["purchases"] = tables["purchases"][
            ["provider", "region", "instance", "kind", "start", "instances_a", "instances_b",
             "a", "b", "delta", "pct"]]
        for name, table in tables.items():
            shown = table.assign(delta=table["delta"].map(signed),
                                 pct=table["pct"].map(lambda p: "" if pd.isna(p)
                                                      else f"{p:+.1f}%"))
            out.print(render(shown, f"{name}: A = {a.name}, B = {b.name}",
                             money_cols=("a", "b")))


def signed(value: float) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "") + money(abs(value))


catalog_app = typer.Typer(no_args_is_help=True, help="Check, show and import catalogs.")
app.add_typer(catalog_app, name="catalog")
CatalogDir = Annotated[Path, typer.Argument(help="Catalog folder")]


@catalog_app.command("check")
def catalog_check(folder: CatalogDir = BUNDLED / "default") -> None:
    """Validate a catalog and summarise what it covers."""
    cat = guarded(lambda: load_catalog(folder))
    out.print(render(catalog_report.summary(cat), f"Catalog {folder}"))
    for name, names in catalog_report.coverage(cat).items():
        style = "yellow" if ("without" in name or "never" in name) and names else "bold"
        out.print(f"[{style}]{name}[/] ({len(names)}): {', '.join(names) or '-'}")


@catalog_app.command("show")
def catalog_show(folder: Annotated[Path, typer.Option("--catalog")] = BUNDLED / "default",
                 provider: str | None = None, accelerator: str | None = None,
                 model: str | None = None) -> None:
    """Price per chip-hour, tokens/s per chip and $ per 1M output tokens, cheapest first."""
    cat = guarded(lambda: load_catalog(folder))
    table = guarded(lambda: catalog_report.price_table(cat, provider, accelerator, model))
    chosen = {"provider": provider, "accelerator": accelerator, "model": model}
    shown = ", ".join(f"{k} {v}" for k, v in chosen.items() if v)
    if table.empty:
        out.print(f"[yellow]No offering with throughput rows matches {shown}.[/] "
                  "`plan catalog check` lists what is measured but never offered.")
        return
    title = "On-demand list price at full load (best measured throughput)"
    out.print(render(table.drop(columns=[k for k, v in chosen.items() if v]),
                     f"{shown}: {title}" if shown else title,
                     money_cols=("$/chip-h", "$/1M tok"), limit=200))


@catalog_app.command("import-skypilot")
def catalog_import(path: Annotated[Path, typer.Argument(help="A SkyPilot vms.csv")],
                   provider: Annotated[str, typer.Option(help="Our provider id, e.g. aws")],
                   as_of: Annotated[str, typer.Option(help="Date of the SkyPilot data")],
                   folder: Annotated[Path, typer.Option("--catalog")] = BUNDLED / "default",
                   source: Annotated[str | None, typer.Option(help="Source text")] = None,
                   ) -> None:
    """Write <catalog>/offerings/<provider>.csv from a SkyPilot vms.csv."""
    from planner.skypilot import import_vms

    offers, left_out = guarded(lambda: import_vms(path, provider, folder, source, as_of))
    out.print(f"{folder / 'offerings' / (provider + '.csv')}: {len(offers)} offerings, "
              f"{offers['accelerator'].nunique()} accelerators, "
              f"{offers['region'].nunique()} regions")
    if left_out:
        out.print(f"[yellow]left out, no coordinates in regions.csv[/]: {', '.join(left_out)}")


@app.command()
def bench(sizes: Annotated[list[str] | None, typer.Argument(help="S, M, L, L-milp")] = None,
          out_dir: Annotated[Path, typer.Option("--out", help="Scenarios, plans and bench.json")]
          = Path("bench-out"),
          seed: int = 7,
          time_limit: Annotated[float | None, typer.Option(help="Seconds per solve")] = None,
          ) -> None:
    """Time load, build, hand-off, solve and report on generated fleet-scale scenarios."""
    from planner import bench as fleet

    results = guarded(lambda: fleet.run(sizes or ["S", "M", "L"], out_dir, seed, time_limit))
    table = pd.DataFrame(results)
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    out.print(render(table.drop(columns=["total_cost"]), "Benchmark (seconds, MiB)"))
    out.print(f"JSON: {out_dir / 'bench.json'}")


def main() -> None:
    app()
