"""The funder's province map: every province drawn, shaded by the share reached, withheld figures hatched."""

from __future__ import annotations

import re

from services.web import maps

ALL = {f"PV{n}" for n in range(20, 32)}


def paths(svg: str) -> dict[str, str]:
    """fill of each province path, by the name in its hover title."""
    return {
        m["name"]: m["fill"]
        for m in re.finditer(r'<path d="[^"]+" fill="(?P<fill>[^"]+)"[^>]*><title>(?P<name>[^:<]+)', svg)
    }


def test_the_vendored_outlines_hold_the_twelve_provinces() -> None:
    _box, shapes = maps.outlines()
    assert {s.code for s in shapes} == ALL
    assert all(s.d.startswith("m ") for s in shapes)


def test_provinces_are_shaded_by_share_withheld_hatched_and_text_escaped() -> None:
    figures: dict[str, tuple[str, int | str, int | None]] = {
        "PV20": ("Groningen", 10, 10),
        "PV21": ("Fryslân", 1, 18),
        "PV22": ("Drenthe", "<5", 12),
        "PV23": ("<Overijssel>", 0, 25),
    }
    svg = str(maps.provinces("kaart", "Kaart & co", figures))
    fills = paths(svg)
    assert fills["Groningen"] == maps.SHADES[-1], "all reached: the darkest shade"
    assert fills["Fryslân"] == maps.SHADES[0]
    assert fills["Drenthe"] == "url(#kaart-verborgen)", "a withheld figure is never drawn as a number"
    assert fills["&lt;Overijssel&gt;"] == "#ffffff"
    assert "Drenthe: niet getoond (&lt;5)" in svg
    assert "Groningen: 10 van 10 gemeenten" in svg
    assert '<title id="kaart-titel">Kaart &amp; co</title>' in svg
    assert svg.count("<path ") == 12, "provinces without a row are drawn too (white, no title)"
    assert "style=" not in svg, "no style attribute: the pages' CSP allows none"
