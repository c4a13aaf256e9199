"""A table of plain values as CSV for Dutch Excel and as an XLSX workbook, safe to open.

CSV: semicolons, UTF-8 with a byte-order mark (Excel then reads the accents), CRLF. A text cell that starts like a
formula (= + - @, a tab or CR) is prefixed with an apostrophe, so a name such as `=HYPERLINK(...)` typed into a
registration stays text (CSV injection, OWASP). XLSX: every text goes in as a string cell, never a formula, URL or
number (xlsxwriter's conversions off); times as date cells in the meeting's local time.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import msgspec
import xlsxwriter

Value = str | int | datetime | None
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Sheet(msgspec.Struct, kw_only=True):
    title: str  # the worksheet's name (at most 31 characters)
    columns: list[str]
    rows: list[list[Value]]


def safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value) if isinstance(value, int) else safe_text(value)


def to_csv(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_text(c) for c in sheet.columns])
    writer.writerows([_csv_cell(v) for v in row] for row in sheet.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheet: Sheet) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "d-m-yyyy hh:mm"})
    ws = book.add_worksheet(sheet.title[:31])
    for col, name in enumerate(sheet.columns):
        ws.write_string(0, col, name, bold)
        ws.set_column(col, col, max(12, min(40, len(name) + 4)))
    ws.freeze_panes(1, 0)
    for r, row in enumerate(sheet.rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                ws.write_blank(r, col, None)
            elif isinstance(value, datetime):
                ws.write_datetime(r, col, value.replace(tzinfo=None), when)  # already in the meeting's local time
            elif isinstance(value, int):
                ws.write_number(r, col, value)
            else:
                ws.write_string(r, col, value)
    book.close()
    return out.getvalue()
