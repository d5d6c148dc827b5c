"""Workbooks finance can use as they are: every number formatted by its kind, months as
real dates, a frozen bold header row, columns as wide as their contents."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from planner.reports.format import cells, header, kind, rounded

NUMBER_FORMATS = {"money": '"$"#,##0.00', "rate": '"$"#,##0.000', "percent": "0.0%",
                  "count": "#,##0.##", "month": "yyyy-mm"}
UNIT_KINDS = {"USD": "money", "USD per 1M tokens": "rate", "share": "percent"}
MONTH = re.compile(r"^\d{4}-\d{2}$")
SHOWN = {"money": "${:,.2f}", "rate": "${:,.3f}", "percent": "{:.1%}", "count": "{:,.2f}"}


def _shown_width(values: pd.Series, fmt: str | None) -> int:
    """The widest cell as the spreadsheet shows it under its number format."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if fmt is None or not len(numbers):
        return 0
    return max(len(fmt.format(v)) for v in numbers.head(300))


def _months(frame: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Columns of YYYY-MM labels become dates (shown yyyy-mm)."""
    out, dated = frame.copy(), set()
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, str) and bool(MONTH.match(v))
                                      ).all():
            out[column] = pd.to_datetime(frame[column], format="%Y-%m")
            dated.add(column)
    return out, dated


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """One sheet per table, in order."""
    from openpyxl.styles import Font

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in sheets.items():
            sheet_name = re.sub(r"\s+", " ", re.sub(r"[\[\]:*?/\\]", " ", name)).strip()[:31]
            table = rounded(table)
            frame, dated = _months(table)
            frame.rename(columns=header).to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            sheet.freeze_panes = "A2"
            text = cells(table.head(300))
            for i, column in enumerate(table.columns, start=1):
                head = sheet.cell(row=1, column=i)
                head.font = Font(bold=True)
                fmt = NUMBER_FORMATS.get("month" if column in dated else
                                         kind(column, table[column]))
                if fmt:
                    for row in range(2, len(table) + 2):
                        sheet.cell(row=row, column=i).number_format = fmt
                if column == "value" and "unit" in table.columns:  # a summary: per row
                    for row, unit in enumerate(table["unit"], start=2):
                        sheet.cell(row=row, column=i).number_format = NUMBER_FORMATS[
                            UNIT_KINDS.get(unit, "count")]
                shown = SHOWN.get(kind(column, table[column]))
                if column == "value" and "unit" in table.columns:
                    width = max((len(SHOWN[UNIT_KINDS.get(u, "count")].format(v))
                                 if isinstance(v, (int, float)) and not pd.isna(v)
                                 else len(str(v)) for v, u in zip(table["value"], table["unit"])),
                                default=0)
                    width = max(width, len(header(column)))
                else:
                    width = max([len(header(column)), _shown_width(table[column], shown)]
                                + text[column].map(len).tolist())
                sheet.column_dimensions[head.column_letter].width = min(width + 2, 80)
    return path
