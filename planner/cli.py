"""`plan`: a thin Typer layer over the library.

Exit 0 all demand met and protected, 3 demand left unmet, 4 demand unprotected, 2 bad input
(one line, nothing solved or written), 1 anything else (one line; --debug for the trace).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from planner.catalog import check as catalog_report
from planner.catalog.read import BUNDLED, INSTALLED, load_catalog, resolve
from planner.errors import PlanError
from planner.model.plan import UNPROVEN
from planner.model.solver import Progress, SolverFailed
from planner.reports import terminal
from planner.reports.files import check_destination
from planner.reports.format import money, percent
from planner.run.pipeline import solve as solve_plan
from planner.run.pipeline import solve_and_explain
from planner.scenario.read import load_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Plan where AI inference runs: cloud, region, chip and purchase kind.")
# Piped or redirected output keeps whole tables (Rich would assume 80 columns); COLUMNS wins.
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err = Console(stderr=True)
EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_UNMET, EXIT_UNPROTECTED = 0, 1, 2, 3, 4
DEBUG = {"on": False}
ScenarioArg = Annotated[Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file")]
OutDir = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", help="Write CSV tables, plan.xlsx and report.html into DIR")]


def _plain_help() -> None:
    """typer 0.29 prints placeholders such as <path>, <bool> and {SCENARIO} in help; the
    metavars given here (SCENARIO, DIR, SECONDS) read better on their own."""
    core = typer.core
    if hasattr(core, "TyperArgument") and hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = lambda self: (
            self.display_name_raw if self.required else f"[{self.display_name_raw}]")
    for cls in (getattr(core, "TyperArgument", None), getattr(core, "TyperOption", None)):
        if cls is not None and hasattr(cls, "display_type"):
            cls.display_type = lambda self, ctx: None


_plain_help()


class Format(str, Enum):
    table = "table"
    json = "json"


@app.callback()
def main_options(debug: Annotated[bool, typer.Option(
        "--debug", help="On an unexpected error, print its traceback")] = False) -> None:
    DEBUG["on"] = debug


def fail(code: int, message: str) -> None:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(run, status: str | None = None):
    """Run `run()`: user mistakes exit 2 with one line, anything else exits 1 (no traceback
    unless --debug). With `status`, a spinner on a terminal's stderr says what is running;
    `run` may take a `progress` callback that shows the solver's course."""
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
        if DEBUG["on"]:
            err.print(traceback.format_exc(), markup=False, highlight=False)
        fail(EXIT_FAILED, f"error: {type(exc).__name__}: {exc} (--debug shows where)")


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
            fmt = money if "cost" in p.stage else (lambda v: f"{v:,.0f} ms x tokens/s") \
                if "rtt" in p.stage else (lambda v: f"{v:,.1f} tokens/s")
            found = f"best {fmt(p.best)}" if math.isfinite(p.best) else "no plan yet"
            if math.isfinite(p.bound) and math.isfinite(p.best) and p.best:
                found += f", bound {fmt(p.bound)}, gap {percent((p.best - p.bound) / p.best)}"
            line.update(f"{status}: {now - started:.0f} s, {p.stage}, {found}")
        yield progress


def exit_code(plan) -> int:
    """3 when demand is left unmet, 4 when all is met but some is unprotected, else 0."""
    return {"unmet": EXIT_UNMET, "unprotected": EXIT_UNPROTECTED}.get(plan.shortfall, EXIT_OK)


def warn_unproven(plan) -> None:
    """Say on stderr, loudly, that a plan whose search stopped early is not proven."""
    s = plan.solver
    bound = s.get("bound")
    how_far = (f"A plan may exist up to {money(plan.total_cost - bound)} ({percent(s['gap'])})"
               f" cheaper than this one (best bound {money(bound)})" if bound is not None else
               "No lower bound on cost was proven, so how far it is from the best is unknown")
    why = ("your --time-limit ended the search: another machine may find another plan"
           if plan.status == "time_limit" else
           "the default search budget (counted in work, the same on any machine) ended "
           "before the 0.1 % proof")
    err.print(f"[bold red]NOT PROVEN OPTIMAL[/] ({plan.status}): {why}. {how_far}; --gap "
              f"or --time-limit search longer.", highlight=False, soft_wrap=True)


def print_warnings(scn) -> None:
    """Settings that are valid but do nothing: one line each on stderr."""
    for line in scn.warnings:
        err.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario and its catalog; solve nothing. Every scenario key is described in
    docs/scenario.md, every catalog table and column in docs/catalog.md."""
    scn = guarded(lambda: load_scenario(scenario))
    print_warnings(scn)
    out.print(f"{scenario}: ok - {len(scn.workloads)} workload(s), {len(scn.markets)} "
              f"market(s), {scn.months} months from {scn.month_labels[0]}, catalog "
              f"{scn.catalog.path}", highlight=False)


RAY_LOCAL = "local"  # `--ray` without an address


class _BareRay(typer.core.TyperCommand):
    """`--ray` may come without an address (Typer options have no optional values): then it
    reads `--ray local`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        read = []
        for i, arg in enumerate(args):
            read.append(arg)
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                read.append(RAY_LOCAL)
        return super().parse_args(ctx, read)


Workers = Annotated[int | None, typer.Option(
    metavar="N", help="Local worker processes (default: one per CPU; 1: this process)")]
Ray = Annotated[str | None, typer.Option(
    "--ray", metavar="[ADDRESS]", help="Run on Ray: a local one, or the cluster at ADDRESS "
                                       "(pip install '.[ray]')")]


@app.command(cls=_BareRay)
def solve(scenario: ScenarioArg,
          format: Annotated[Format, typer.Option(
              "--format", metavar="table|json", help="Tables, or one JSON object")] =
          Format.table,
          out_dir: OutDir = None,
          time_limit: Annotated[float | None, typer.Option(
              metavar="SECONDS", help="Stop the search and return the best plan found")] = None,
          gap: Annotated[float | None, typer.Option(
              metavar="GAP", help="Relative cost gap to stop at (default: 1e-6, relaxed with "
                                  "time to at most 0.1 % for 'optimal')")] = None,
          threads: Annotated[int | None, typer.Option(metavar="N", help="Solver threads")]
          = None,
          solver: Annotated[str, typer.Option(metavar="NAME",
                                              help="auto, highs, pulp-highs or cbc")] = "auto",
          workers: Workers = None, ray: Ray = None,
          ) -> None:
    """Solve a scenario and print the plan. Exit 3 when demand is left unmet, 4 when it is
    met but not protected. With `uncertainty`, the futures' own solves (value of the
    stochastic solution, perfect information, decomposition) run on --workers or --ray."""
    from planner.reports.exports import file_names, write_reports

    scn = guarded(lambda: load_scenario(scenario))
    print_warnings(scn)
    if scn.futures is not None:
        solve_futures(scn, format, out_dir, time_limit, gap, threads, solver,
                      (workers, True if ray == RAY_LOCAL else ray))
    if out_dir is not None:
        guarded(lambda: check_destination(out_dir, file_names()))
    plan, why = guarded(lambda progress: solve_and_explain(
        scn, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
        progress=progress, why=out_dir is not None), f"Solving {scenario}")
    if out_dir is not None:
        extra = {"Binding constraints": why.binding, "Unmet: what stood in the way": why.unmet}
        guarded(lambda: write_reports(plan, out_dir, extra), "Writing reports")
    if format is Format.json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2) + "\n")
    else:
        terminal.print_plan(out, plan)
        if out_dir is not None:
            out.print(f"Written: {out_dir}/ (CSV tables, plan.xlsx, report.html)",
                      highlight=False)
    if plan.status in UNPROVEN:
        warn_unproven(plan)
    raise typer.Exit(exit_code(plan))


def solve_futures(scn, format: Format, out_dir: Path | None, time_limit, gap, threads,
                  solver, where: tuple) -> None:
    """`plan solve` of a scenario with `uncertainty`: the plan across its futures."""
    from planner.reports.exports import futures_file_names, write_futures_reports
    from planner.run.executor import executor

    if out_dir is not None:
        guarded(lambda: check_destination(out_dir, futures_file_names()))

    def run(progress):
        with executor(*where) as pool:
            return solve_plan(scn, solver=solver, time_limit=time_limit, gap=gap,
                              threads=threads, progress=progress, run_map=pool.map)

    fp = guarded(run, f"Solving {scn.file} across {len(scn.futures)} futures")
    if out_dir is not None:
        guarded(lambda: write_futures_reports(fp, out_dir), "Writing reports")
    if format is Format.json:
        sys.stdout.write(json.dumps(fp.to_dict(), indent=2) + "\n")
    else:
        terminal.print_futures(out, fp)
    if fp.status in UNPROVEN:
        warn_unproven(fp)
    raise typer.Exit(exit_code(fp))


@app.command()
def explain(scenario: ScenarioArg,
            format: Annotated[Format, typer.Option(
              "--format", metavar="table|json", help="Tables, or one JSON object")] =
            Format.table,
            solver: Annotated[str, typer.Option(metavar="NAME", help="auto or highs")] = "auto"
            ) -> None:
    """Which constraints bind, what one more unit is worth, and why demand is unmet."""
    plan, why = guarded(lambda progress: solve_and_explain(scenario, solver=solver,
                                                           progress=progress),
                        f"Solving and explaining {scenario}")
    if format is Format.json:
        records = {name: json.loads(getattr(why, name).to_json(orient="records"))
                   for name in ("binding", "residency", "unmet")}
        sys.stdout.write(json.dumps({"status": plan.status, "total_cost": plan.total_cost,
                                     "unit": why.unit, "basis": why.basis, **records},
                                    indent=2) + "\n")
    else:
        terminal.print_explain(out, plan, why)
    raise typer.Exit(exit_code(plan))


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command()
def diff(a: Annotated[Path, typer.Argument(metavar="A", help="Scenario YAML or `plan solve` "
                                           "JSON")],
         b: Annotated[Path, typer.Argument(metavar="B", help="Scenario YAML or `plan solve` "
                                           "JSON")],
         format: Annotated[DiffFormat, typer.Option(
             "--format", metavar="table|json|csv", help="Tables, one JSON object or one CSV")]
         = DiffFormat.table,
         out_dir: Annotated[Path | None, typer.Option(
             "--out", metavar="DIR", help="Write the tables as CSV and diff.xlsx into DIR")]
         = None) -> None:
    """What changes from plan A to plan B: cost per month, provider, chip, kind, purchases."""
    from planner.reports import diff as plan_diff
    from planner.reports.files import staged
    from planner.reports.format import rounded
    from planner.reports.xlsx import write_xlsx

    names = [f"{t}.csv" for t in plan_diff.TABLES] + ["diff.xlsx"]
    if out_dir is not None:
        guarded(lambda: check_destination(out_dir, names))

    def load(path: Path):
        return plan_diff.load_result(path) if path.suffix == ".json" else solve_plan(path)

    tables = guarded(lambda: plan_diff.diff(load(a), load(b)), f"Solving {a} and {b}")
    if out_dir is not None:
        def write() -> None:
            with staged(out_dir) as tmp:
                for name, table in tables.items():
                    rounded(table).to_csv(tmp / f"{name}.csv", index=False)
                write_xlsx(tmp / "diff.xlsx", tables)
        guarded(write, "Writing the diff")
    if format is DiffFormat.json:
        sys.stdout.write(json.dumps({k: json.loads(v.to_json(orient="records"))
                                     for k, v in tables.items()}, indent=2) + "\n")
    elif format is DiffFormat.csv:
        rounded(plan_diff.long_table(tables)).to_csv(sys.stdout, index=False)
    else:
        terminal.print_diff(out, tables, a.name, b.name)


@app.command(cls=_BareRay)
def sweep(scenario: ScenarioArg,
          settings: Annotated[list[str], typer.Option(
              "--set", metavar="KEY=V1,V2,...",
              help="A scenario key as in error messages (providers.aws.discount, "
                   "workloads.chat.slo.ttft_ms) or demand (a multiplier on all demand), and "
                   "its values; repeat for more keys")],
          workers: Workers = None, ray: Ray = None,
          out_dir: Annotated[Path | None, typer.Option(
              "--out", metavar="DIR", help="Write sweep.csv, sweep.xlsx and sweep.html into "
                                           "DIR")] = None,
          format: Annotated[DiffFormat, typer.Option(
              "--format", metavar="table|json|csv", help="The table, one JSON object or "
                                                         "CSV")] = DiffFormat.table,
          time_limit: Annotated[float | None, typer.Option(
              metavar="SECONDS", help="Seconds per variant (answers then depend on the "
                                      "machine)")] = None,
          ) -> None:
    """Solve every combination of the values set: one row per variant with its status, total
    cost, unmet and unprotected demand, cost per provider and per accelerator."""
    from planner.reports.format import rounded
    from planner.run import sweep_report
    from planner.run.executor import executor
    from planner.run.sweep import parse_settings
    from planner.run.sweep import sweep as run_sweep

    if out_dir is not None:
        guarded(lambda: check_destination(out_dir, sweep_report.FILES))
    values = guarded(lambda: parse_settings(settings))
    count = math.prod(len(v) for v in values.values())
    variants = f"{count} variant{'s' if count > 1 else ''}"

    def run():
        with executor(workers, True if ray == RAY_LOCAL else ray) as pool:
            return run_sweep(scenario, values, pool, time_limit)

    frame = guarded(run, f"Solving {variants} of {scenario}")
    title = f"Sweep of {scenario}: {variants} (unmet, unprotected: tokens/s-months)"
    if out_dir is not None:
        guarded(lambda: sweep_report.write(frame, list(values), out_dir, title),
                "Writing the sweep")
    if format is DiffFormat.json:
        sys.stdout.write(json.dumps({"scenario": str(scenario), "settings": values,
                                     "variants": json.loads(frame.to_json(orient="records"))},
                                    indent=2) + "\n")
    elif format is DiffFormat.csv:
        rounded(frame).to_csv(sys.stdout, index=False)
    else:
        terminal.show(out, sweep_report.shown(frame, list(values)), title, limit=200,
                      more="see sweep --out DIR or --format csv")
        if out_dir is not None:
            out.print(f"Written: {out_dir}/ (sweep.csv, sweep.xlsx, sweep.html)",
                      highlight=False)
    stopped = int(frame["status"].isin(UNPROVEN).sum())
    if stopped:
        err.print(f"[bold red]NOT PROVEN OPTIMAL[/]: {stopped} variant(s) stopped before the "
                  f"proof; their costs may be above the optimum.", highlight=False)


catalog_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Check, show and import catalogs.")
app.add_typer(catalog_app, name="catalog")
CatalogDir = Annotated[Path | None, typer.Argument(
    metavar="[DIR]", help="Catalog folder (default: the bundled catalog)")]
CatalogOption = Annotated[Path | None, typer.Option(
    "--catalog", metavar="DIR", help="Catalog folder (default: the bundled catalog)")]


def _catalog(folder: Path | None) -> Path:
    """The folder named, else `catalogs/default` of the tree this runs in (a checkout's own
    copy), else the bundled one."""
    return folder if folder is not None else guarded(lambda: resolve("default", Path.cwd()))


def _writable(folder: Path | None, option: str) -> Path:
    """A catalog folder a command may write: named, and not inside the installed package."""
    if folder is None:
        fail(EXIT_INPUT, f"error: {option}: name the catalog folder to write (e.g. `cp -r "
                         f"{BUNDLED / 'default'} mycat` and `{option} mycat`)")
    inside = folder.resolve()
    if INSTALLED and (inside == BUNDLED or BUNDLED in inside.parents):
        fail(EXIT_INPUT, f"error: {option}: {folder} is inside the installed planner "
                         f"package; copy it first (cp -r {BUNDLED / 'default'} mycat) and "
                         f"write the copy")
    return folder


@catalog_app.command("check")
def catalog_check(folder: CatalogDir = None,
                  ttft_ms: Annotated[float | None, typer.Option(
                      metavar="MS", help="Usable: measured within this TTFT")] = None,
                  tpot_ms: Annotated[float | None, typer.Option(
                      metavar="MS", help="Usable: measured within this TPOT")] = None) -> None:
    """Validate a catalog, summarise what it covers, and say per chip family which
    accelerators are usable at serving load (within the SLO given)."""
    folder = _catalog(folder)
    cat = guarded(lambda: load_catalog(folder))
    terminal.show(out, catalog_report.summary(cat), f"Catalog {folder}")
    slo = " and ".join(f"{k} {v:g} ms" for k, v in (("ttft", ttft_ms), ("tpot", tpot_ms))
                       if v is not None) or "any latency"
    terminal.show(out, catalog_report.usable(cat, ttft_ms, tpot_ms),
                  f"Usable at serving load (>= {catalog_report.SERVING_LOAD:g} tokens/s per "
                  f"chip, more than one request in flight, {slo}), per family; rows that "
                  f"are only a bound or batch 1", ids=["family"])
    for name, names in catalog_report.coverage(cat).items():
        style = "yellow" if ("without" in name or "never" in name or "neither" in name) \
            and names else "bold"
        out.print(f"[{style}]{name}[/] ({len(names)}): {', '.join(names) or '-'}",
                  highlight=False)


@catalog_app.command("show")
def catalog_show(folder: CatalogOption = None,
                 provider: Annotated[str | None, typer.Option(metavar="NAME")] = None,
                 accelerator: Annotated[str | None, typer.Option(metavar="ID")] = None,
                 model: Annotated[str | None, typer.Option(metavar="MODEL")] = None,
                 ttft_ms: Annotated[float | None, typer.Option(
                     metavar="MS", help="Only throughput measured within this TTFT")] = None,
                 tpot_ms: Annotated[float | None, typer.Option(
                     metavar="MS", help="Only throughput measured within this TPOT")] = None,
                 ) -> None:
    """Price per chip-hour, tokens/s per chip and $ per 1M output tokens, cheapest first."""
    cat = guarded(lambda: load_catalog(_catalog(folder)))
    table = guarded(lambda: catalog_report.price_table(cat, provider, accelerator, model,
                                                       ttft_ms, tpot_ms))
    chosen = {"provider": provider, "accelerator": accelerator, "model": model}
    shown = ", ".join(f"{k} {v}" for k, v in chosen.items() if v)
    slo = ", ".join(f"{k} <= {v:g} ms" for k, v in (("TTFT", ttft_ms), ("TPOT", tpot_ms)) if v)
    if table.empty:
        out.print(f"[yellow]No offering with usable throughput rows matches "
                  f"{', '.join(filter(None, (shown, slo)))}.[/] `plan catalog check` lists "
                  f"what is measured but never offered.", highlight=False)
        return
    title = ("On-demand list price at full load, best throughput measured within "
             f"{slo} (round trips not included)" if slo else
             "On-demand list price at full load, best measured throughput (at the TTFT and "
             "TPOT shown; --ttft-ms/--tpot-ms keep what an SLO can use)")
    terminal.show(out, table.drop(columns=[k for k, v in chosen.items() if v]),
                  f"{shown}: {title}" if shown else title, limit=200)


@catalog_app.command("curves")
def catalog_curves(model: Annotated[str, typer.Option(metavar="MODEL")],
                   folder: CatalogOption = None,
                   out_dir: Annotated[Path | None, typer.Option(
                       "--out", metavar="DIR", help="Write curves.csv and curves.html")]
                   = None) -> None:
    """Throughput against TPOT and TTFT per accelerator, with $ per 1M output tokens."""
    from planner.reports import html
    from planner.reports.files import staged
    from planner.reports.format import rounded

    cat = guarded(lambda: load_catalog(_catalog(folder)))
    table = guarded(lambda: catalog_report.curves(cat, model))
    if out_dir is not None:
        guarded(lambda: check_destination(out_dir, ["curves.csv", "curves.html"]))
    terminal.show(out, table, f"{model}: throughput per chip at each measured latency "
                  "(cheapest on-demand price)", limit=200, ids=["accelerator"])
    if out_dir is not None:
        charts = [html.curve(table, "tpot_ms", "tokens_per_s_per_chip",
                             "Output tokens/s per chip against TPOT", "tokens/s per chip"),
                  html.curve(table, "ttft_ms", "tokens_per_s_per_chip",
                             "Output tokens/s per chip against TTFT", "tokens/s per chip"),
                  html.curve(table, "tpot_ms", "usd_per_1m_tokens",
                             "Cost per 1M output tokens against TPOT (cheapest on-demand)",
                             "USD per 1M tokens")]

        def write() -> None:
            with staged(out_dir) as tmp:
                rounded(table).to_csv(tmp / "curves.csv", index=False)
                html.write(tmp / "curves.html", html.page(
                    f"{model}: throughput and latency", [
                        f"<p class='meta'>catalog {cat.path}</p>"], charts,
                    {"Measured points": table}))
        guarded(write, "Writing the curves")
        out.print(f"Written: {out_dir}/ (curves.csv, curves.html)", highlight=False)


@catalog_app.command("import-skypilot")
def catalog_import(path: Annotated[Path, typer.Argument(metavar="VMS_CSV",
                                                        help="A SkyPilot vms.csv")],
                   provider: Annotated[str, typer.Option(metavar="NAME",
                                                         help="Our provider id, e.g. aws")],
                   as_of: Annotated[str, typer.Option(metavar="YYYY-MM-DD",
                                                      help="Date of the SkyPilot data")],
                   folder: CatalogOption = None,
                   source: Annotated[str | None, typer.Option(metavar="TEXT",
                                                              help="Source text")] = None,
                   ) -> None:
    """Write <catalog>/offerings/<provider>.csv from a SkyPilot vms.csv."""
    from planner.catalog.skypilot import import_vms

    folder = _writable(folder, "--catalog")
    offers, left_out = guarded(lambda: import_vms(path, provider, folder, source, as_of))
    out.print(f"{folder / 'offerings' / (provider + '.csv')}: {len(offers)} offerings, "
              f"{offers['accelerator'].nunique()} accelerators, "
              f"{offers['region'].nunique()} regions", highlight=False)
    if left_out:
        out.print(f"[yellow]left out, no coordinates in regions.csv[/]: {', '.join(left_out)}")


@catalog_app.command("import-bench")
def catalog_import_bench(
        files: Annotated[list[Path], typer.Argument(
            metavar="FILE...",
            help="Result files: vLLM bench serve JSON, GuideLLM report, GenAI-Perf profile "
                 "export JSON, LLMPerf summary, MLPerf mlperf_log_summary.txt")],
        accelerator: Annotated[str, typer.Option(metavar="ID",
                                                 help="Accelerator id of the catalog")],
        model: Annotated[str, typer.Option(metavar="MODEL",
                                           help="Model id (a new one is allowed)")],
        chips: Annotated[int, typer.Option(min=1, metavar="N",
                                           help="Chips that served the measured load")],
        to: Annotated[Path, typer.Option("--to", metavar="DIR",
                                         help="Catalog folder to append to")],
        precision: Annotated[str | None, typer.Option(metavar="NAME",
                                                      help="e.g. bf16, fp8")] = None,
        stack: Annotated[str | None, typer.Option(metavar="TEXT",
                                                  help="Serving software and version")] = None,
) -> None:
    """Append throughput rows, one per measured load point, from benchmark result files."""
    from planner.catalog.benchimport import import_files

    to = _writable(to, "--to")
    done = guarded(lambda: import_files(files, to, accelerator, model, chips, precision, stack))
    out.print(f"{done.table}: {len(done.added)} row(s) added, {done.already_present} already "
              "there", highlight=False)
    if done.new_model:
        out.print(f"[yellow]model {model!r} is new to this catalog[/]")
    if len(done.added):
        shown = done.added.drop(columns=["source", "accelerator", "model", "stack", "precision"])
        terminal.show(out, shown, f"{accelerator} / {model}")


@app.command(cls=_BareRay)
def bench(sizes: Annotated[list[str] | None, typer.Argument(
              metavar="[SIZE]...", help="S, M, L, XL, XXL, S-milp, M-milp, L-milp, T "
                                        "(default S M L); across futures M-f20 (extensive "
                                        "form), M-d200 (decomposed)")] = None,
          workers: Annotated[int, typer.Option(
              metavar="N", help="Local worker processes for the futures sizes (1: this "
                                "process, so that timings compare)")] = 1,
          ray: Ray = None,
          out_dir: Annotated[Path | None, typer.Option(
              "--out", metavar="DIR", help="Scenarios, plans and bench.json (default: a new "
                                           "temporary folder, named at the end)")] = None,
          seed: Annotated[int, typer.Option(metavar="N")] = 7,
          time_limit: Annotated[float | None, typer.Option(
              metavar="SECONDS", help="Seconds per solve")] = None,
          ) -> None:
    """Time load, build, hand-off, solve and report on generated fleet-scale scenarios."""
    from planner.run import bench as fleet

    folder = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="plan-bench-"))
    guarded(lambda: check_destination(folder, ["bench.json"]))
    where = (workers, True if ray == RAY_LOCAL else ray)
    results = guarded(lambda: fleet.run(sizes or ["S", "M", "L"], folder, seed, time_limit,
                                        where), "Benchmarking")
    (folder / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    table = pd.DataFrame(results).drop(columns=["total_cost"]).dropna(axis=1, how="all")
    terminal.show(out, table, "Benchmark (seconds, MiB)")
    out.print(f"Scenarios, plans and bench.json: {folder}", highlight=False)


def main() -> None:
    app()
