"""A report as JSON, as CSV for Dutch Excel (`;`, decimal comma, UTF-8 with BOM) and as an XLSX workbook."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time
from typing import Any

import msgspec
import xlsxwriter

from schemas.reports import Report, ReportRow
from services.reports.dimensions import DIMENSIONS, MEASURES

BOM = "\ufeff"
_STATUS = {None: "", "primary": "minder dan k personen", "secondary": "afgeschermd ter bescherming van een andere cel"}


def suppression_text(k: int) -> list[str]:
    return [
        f'Een cel met minder dan {k} verschillende personen (aangemeld of aanwezig) toont "<{k}".',
        'Een cel met "x" is extra afgeschermd: anders zou een "<k"-cel uit een totaal terug te rekenen zijn.',
        "Aantallen personen zijn licht verstoord (hoogstens 2 erbij of eraf, cell-key-methode): dezelfde cel geeft "
        "in elk rapport hetzelfde getal, maar twee overlappende rapporten van elkaar aftrekken onthult niemand. "
        "Daardoor tellen cellen niet altijd precies op tot het totaal.",
        "Een bijeenkomst met meerdere thema's of organisatoren telt bij elk daarvan mee.",
    ]


def to_json(report: Report) -> bytes:
    return msgspec.json.encode(report)


def _rows(report: Report) -> list[ReportRow]:
    return [*report.rows, *report.subtotals, report.total]


def _dim_label(row: ReportRow, dim: str) -> str:
    return row.labels[dim] if dim in row.dimensions else "Totaal"


def _dim_code(row: ReportRow, dim: str) -> str:
    return (row.dimensions.get(dim) or "") if dim in row.dimensions else ""


def _safe(text: str) -> str:
    """Text a spreadsheet must never run: a leading = + - @ (or tab/CR) would make the cell a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return _safe(str(value))


def headers(report: Report) -> list[str]:
    out: list[str] = []
    for dim in report.group_by:
        out += [DIMENSIONS[dim].label, f"{DIMENSIONS[dim].label} (code)"]
    return [*out, *(m.label for m in MEASURES), "Afscherming"]


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers(report))
    for row in _rows(report):
        line: list[str] = []
        for dim in report.group_by:
            line += [_safe(_dim_label(row, dim)), _safe(_dim_code(row, dim))]
        line += [_csv_value(getattr(row, m.name)) for m in MEASURES]
        line.append(_status(report, row))
        writer.writerow(line)
    return (BOM + buffer.getvalue()).encode("utf-8")


def _status(report: Report, row: ReportRow) -> str:
    text = _STATUS[row.suppressed]
    return text.replace("k", str(report.k), 1) if row.suppressed == "primary" else text


def _write_measure(sheet: Any, r: int, col: int, value: object, decimal: Any) -> None:
    if value is None or isinstance(value, bool):
        sheet.write_blank(r, col, None)
    elif isinstance(value, int):
        sheet.write_number(r, col, value)
    elif isinstance(value, float):
        sheet.write_number(r, col, value, decimal)
    else:
        sheet.write_string(r, col, str(value))


def _report_sheet(book: Any, report: Report, bold: Any) -> None:
    month = book.add_format({"num_format": "mmmm yyyy"})
    decimal = book.add_format({"num_format": "0.0"})
    sheet = book.add_worksheet("Rapport")
    for col, text in enumerate(headers(report)):
        sheet.write_string(0, col, text, bold)
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(_rows(report), start=1):
        col = 0
        for dim in report.group_by:
            code = row.dimensions.get(dim)
            if dim == "month" and code is not None:
                year, mon = code.split("-")
                sheet.write_datetime(r, col, datetime(int(year), int(mon), 1), month)  # noqa: DTZ001 - a calendar month
            else:
                sheet.write_string(r, col, _dim_label(row, dim))
            sheet.write_string(r, col + 1, _dim_code(row, dim))
            col += 2
        for m in MEASURES:
            _write_measure(sheet, r, col, getattr(row, m.name), decimal)
            col += 1
        sheet.write_string(r, col, _status(report, row))
    dims = 2 * len(report.group_by)
    if dims:
        sheet.set_column(0, dims - 1, 24)
    sheet.set_column(dims, dims + len(MEASURES), 14)


def _notes_sheet(book: Any, report: Report, bold: Any) -> None:
    day = book.add_format({"num_format": "dd-mm-yyyy"})
    notes = book.add_worksheet("Toelichting")
    notes.set_column(0, 0, 28)
    notes.set_column(1, 1, 110)
    basis = "op de dag van de bijeenkomst" if report.municipality_as_of == "meeting" else "van vandaag"
    notes.write_string(0, 0, "Financier", bold)
    notes.write_string(0, 1, report.funder or "alle")
    notes.write_string(1, 0, "Periode van", bold)
    notes.write_datetime(1, 1, datetime.combine(report.period_from, time()), day)
    notes.write_string(2, 0, "Periode tot en met", bold)
    notes.write_datetime(2, 1, datetime.combine(report.period_to, time()), day)
    notes.write_string(3, 0, "Gemeentelijke indeling", bold)
    notes.write_string(3, 1, basis)
    notes.write_string(4, 0, "Drempel k", bold)
    notes.write_number(4, 1, report.k)
    notes.write_string(5, 0, "Gemaakt op", bold)
    notes.write_string(5, 1, report.generated_at.strftime("%Y-%m-%d %H:%M UTC"))
    r = 7
    notes.write_string(r, 0, "Maat", bold)
    notes.write_string(r, 1, "Betekenis", bold)
    for m in MEASURES:
        r += 1
        notes.write_string(r, 0, m.label)
        notes.write_string(r, 1, m.explanation)
    r += 2
    notes.write_string(r, 0, "Afscherming", bold)
    for text in suppression_text(report.k):
        notes.write_string(r, 1, text)
        r += 1


def to_xlsx(report: Report) -> bytes:
    """A real workbook: typed numbers and dates, a frozen header, and a sheet that explains the figures.
    Every text goes through write_string, so nothing from the data can become a formula."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    bold = book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1})
    _report_sheet(book, report, bold)
    _notes_sheet(book, report, bold)
    book.close()
    return out.getvalue()


def render(report: Report, fmt: str) -> bytes:
    return {"json": to_json, "csv": to_csv, "xlsx": to_xlsx}[fmt](report)
