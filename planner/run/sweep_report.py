"""A sweep for people: its table with the values set as names of the variants, and its
files (sweep.csv, sweep.xlsx, sweep.html with total cost per variant stacked by provider),
written whole or not at all."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from planner.reports import html
from planner.reports.files import staged
from planner.reports.format import rounded
from planner.reports.xlsx import write_xlsx

FILES = ["sweep.csv", "sweep.xlsx", "sweep.html"]


def text(value: object) -> str:
    """A value set by a sweep as it is written in YAML."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def shown(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The values set as text, so that they name each row wherever a table is split."""
    return frame.assign(**{key: frame[key].map(text) for key in keys})


def page(frame: pd.DataFrame, keys: list[str], title: str) -> str:
    labels = shown(frame, keys)[keys].agg(", ".join, axis=1)
    providers = [c for c in frame.columns if c.startswith("provider:")]
    costs = frame[providers].set_axis(labels).rename(columns=lambda c: c.split(":", 1)[1])
    chart = html.bars(costs, f"Total cost per variant ({', '.join(keys)}), by provider "
                             "(commitments counted in full)", "provider")
    statuses = ", ".join(f"{n} {status}" for status, n in frame["status"].value_counts().items())
    head = f"<p class='meta'>{len(frame)} variants: {escape(statuses)}. Unmet and " \
           "unprotected demand in tokens/s-months.</p>"
    return html.page(title, [head], [chart], {"Variants": shown(frame, keys)})


def write(frame: pd.DataFrame, keys: list[str], folder: Path, title: str) -> Path:
    """sweep.csv, sweep.xlsx and sweep.html in `folder`, all or nothing."""
    with staged(folder) as tmp:
        rounded(frame).to_csv(tmp / "sweep.csv", index=False)
        write_xlsx(tmp / "sweep.xlsx", {"sweep": frame})
        html.write(tmp / "sweep.html", page(frame, keys, title))
    return folder
