"""The funder dashboard's map: the twelve provinces, each shaded by the share of its municipalities reached.

Like the bar charts (services/web/charts.py): SVG drawn on the server, no script, no style attribute (the pages'
CSP), decoration with a title next to the table of the same figures. The outlines are the vendored
`@svg-maps/netherlands` (CC BY 4.0, services/web/static/vendor/UPDATING.md). A province whose figure the report
withholds (disclosure control: "<5", "x") is drawn hatched and named as withheld, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources

from markupsafe import Markup

from services.web.i18n import gettext as _

# The map's ids -> our province codes (reference data: services/migrations, provinces.csv).
PROVINCE_OF_ID = {
    "gr": "PV20", "fr": "PV21", "dr": "PV22", "ov": "PV23", "fl": "PV24", "ge": "PV25",
    "ut": "PV26", "nh": "PV27", "zh": "PV28", "ze": "PV29", "nb": "PV30", "li": "PV31",
}  # fmt: skip
# Light to dark: 0-20 %, 20-40 %, ... of a province's municipalities reached (contrast against white checked by
# axe for the legend text; the shades themselves carry no text).
SHADES = ("#dbe7f3", "#a9c6e3", "#6f9fcc", "#3a72a8", "#154273")
# Credited under the map on the page (CC BY 4.0).
CREDIT = "@svg-maps/netherlands (MapSVG), CC BY 4.0"
_PATH = re.compile(r'<path\s+id="(?P<id>[a-z]{2})"\s+name="(?P<name>[^"]+)"\s+d="(?P<d>[^"]+)"', re.S)


@dataclass(frozen=True, slots=True)
class Outline:
    code: str
    d: str


@cache
def outlines() -> tuple[str, tuple[Outline, ...]]:
    """The map's viewBox and its province outlines, by our codes."""
    text = (resources.files("services.web") / "static/vendor/svg-maps-netherlands/netherlands.svg").read_text("utf-8")
    box = re.search(r'viewBox="([^"]+)"', text)
    found = tuple(Outline(PROVINCE_OF_ID[m["id"]], m["d"]) for m in _PATH.finditer(text))
    return (box.group(1) if box else "0 0 613 724"), found


def _shade(share: float) -> str:
    return SHADES[min(len(SHADES) - 1, int(share * len(SHADES)))]


def _label(name: str, reached: int | str, total: int | None) -> str:
    if isinstance(reached, str):
        return _("%(name)s: niet getoond (%(figure)s)") % {"name": name, "figure": reached}
    if total:
        return _("%(name)s: %(reached)s van %(total)s gemeenten") % {"name": name, "reached": reached, "total": total}
    return _("%(name)s: %(reached)s gemeenten") % {"name": name, "reached": reached}


def provinces(chart_id: str, title: str, figures: Mapping[str, tuple[str, int | str, int | None]]) -> Markup:
    """`figures`: province code -> (name, municipalities reached or the report's withheld mark, municipalities in
    it). A province without a row
    is drawn white (none of its municipalities was reached); one whose figure is withheld is hatched. A legend
    under the map gives the shades."""
    box, shapes = outlines()
    x, y, width, height = (float(v) for v in box.split())
    legend_y = y + height + 10
    cid = escape(chart_id)
    parts = [
        f'<svg class="kaart" id="{cid}" role="img" aria-labelledby="{cid}-titel" '
        f'viewBox="{x:g} {y:g} {width:g} {height + 144:g}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{cid}-titel">{escape(title)}</title>',
        f'<defs><pattern id="{cid}-verborgen" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"></rect>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#767676" stroke-width="3"></line></pattern></defs>',
    ]
    for shape in shapes:
        name, reached, total = figures.get(shape.code, ("", 0, None))
        if isinstance(reached, str):  # withheld: "<5", "x"
            fill = f"url(#{cid}-verborgen)"
        else:
            fill = _shade(reached / total if total else 0.0) if reached else "#ffffff"
        hover = f"<title>{escape(_label(name, reached, total))}</title>" if name else ""
        parts.append(f'<path d="{shape.d}" fill="{fill}" stroke="#1b1b1b" stroke-width="1">{hover}</path>')
    step = 100 / len(SHADES)
    keys = [(_("geen"), "#ffffff")]
    keys += [(f"{round(i * step)}–{round((i + 1) * step)} %", shade) for i, shade in enumerate(SHADES)]
    keys.append((_("niet getoond"), f"url(#{cid}-verborgen)"))
    for i, (text, fill) in enumerate(keys):
        kx, ky = x + 10 + (i % 3) * 200, legend_y + (i // 3) * 34
        parts.append(f'<rect x="{kx:g}" y="{ky:g}" width="26" height="22" fill="{fill}" stroke="#1b1b1b"></rect>')
        parts.append(f'<text x="{kx + 34:g}" y="{ky + 17:g}" font-size="18" fill="#1b1b1b">{escape(text)}</text>')
    caption = _("Gemeenten bereikt, als deel van alle gemeenten in de provincie")
    parts.append(f'<text x="{x + 10:g}" y="{legend_y + 126:g}" font-size="16" fill="#1b1b1b">{escape(caption)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or ours
