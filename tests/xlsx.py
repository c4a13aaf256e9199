"""Just enough of an XLSX reader for tests (zip + XML): sheets, typed cells, dates by their number format,
frozen rows and whether any cell holds a formula. Reading it independently of the writer is the point."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.etree import ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
EPOCH = date(1899, 12, 30)


@dataclass
class Sheet:
    rows: list[list[object]] = field(default_factory=list)
    frozen_rows: int = 0


@dataclass
class Book:
    sheets: dict[str, Sheet]
    formulas: list[str]
    text: str  # every string in the workbook, for scanning

    @staticmethod
    def date(year: int, month: int, day: int) -> date:
        return date(year, month, day)


def _xml(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own output, in a test


def _col(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    n = 0
    for ch in letters.group(0) if letters else "A":
        n = n * 26 + ord(ch) - 64
    return n - 1


def _cell(c: ET.Element, strings: list[str], date_styles: set[int]) -> object:
    v = c.find("m:v", NS)
    kind = c.get("t")
    if kind == "s" and v is not None:
        return strings[int(v.text or "0")]
    if kind == "inlineStr":
        return "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
    if v is None:
        return None
    if int(c.get("s", "0")) in date_styles:
        return EPOCH + timedelta(days=float(v.text or "0"))
    number = float(v.text or "0")
    return int(number) if number.is_integer() and "." not in (v.text or "") else number


def read_xlsx(data: bytes) -> Book:
    z = zipfile.ZipFile(io.BytesIO(data))
    strings = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in _xml(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            strings.append("".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")))
    styles = _xml(z.read("xl/styles.xml"))
    formats = {int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
    xfs = styles.find("m:cellXfs", NS)
    date_styles = {
        i
        for i, xf in enumerate(xfs if xfs is not None else [])
        if "yy" in formats.get(int(xf.get("numFmtId", "0")), "")
    }
    workbook = _xml(z.read("xl/workbook.xml"))
    rels = _xml(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    sheets: dict[str, Sheet] = {}
    formulas: list[str] = []
    for s in workbook.iter(f"{{{NS['m']}}}sheet"):
        target = str(targets[s.get(REL)]).removeprefix("/xl/")
        root = _xml(z.read(f"xl/{target}"))
        sheet = Sheet()
        pane = root.find(".//m:pane", NS)
        if pane is not None and pane.get("state") == "frozen":
            sheet.frozen_rows = int(float(pane.get("ySplit", "0")))
        for row in root.iter(f"{{{NS['m']}}}row"):
            values: list[object] = []
            for c in row.findall("m:c", NS):
                while len(values) < _col(c.get("r", "A1")):
                    values.append(None)
                if c.find("m:f", NS) is not None:
                    formulas.append(c.get("r", ""))
                values.append(_cell(c, strings, date_styles))
            sheet.rows.append(values)
        sheets[str(s.get("name"))] = sheet
    text = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return Book(sheets=sheets, formulas=formulas, text=text)
