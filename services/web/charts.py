"""Bar charts as SVG, drawn on the server: no script, no library, no style attribute (the pages' CSP), and every
chart goes with a table of the same figures (the template puts it right below), so a screen reader gets the
numbers and the chart is decoration with a title.

A figure the report withholds ("<5", "x": disclosure control in services/reports) draws no bar and is written as
it is published.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH, BAR, GAP, LABEL = 640, 26, 10, 210


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def bars(chart_id: str, title: str, items: list[tuple[str, object]]) -> Markup:
    """A horizontal bar per item (label, figure); the longest bar is the largest figure."""
    numbers = [n for _label, value in items if (n := _number(value)) is not None]
    top = max(numbers, default=0.0) or 1.0
    height = max(1, len(items)) * (BAR + GAP) + GAP
    room = WIDTH - LABEL - 60
    parts = [
        f'<svg class="grafiek" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(chart_id)}-titel" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-titel">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR + GAP)
        number = _number(value)
        length = 0 if number is None else max(2, round(room * number / top))
        shown = escape(str(value)) if number is None else f"{number:g}".replace(".", ",")
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.0f}" text-anchor="end" font-size="14" fill="#1b1b1b">'
            f"{escape(label[:32])}</text>"
        )
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}" fill="#154273"></rect>')
        parts.append(
            f'<text x="{LABEL + length + 6}" y="{y + BAR * 0.7:.0f}" font-size="14" fill="#1b1b1b">{shown}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
