"""The door's service worker keeps every file the door page loads, so a reload without Wi-Fi looks as it did."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "services" / "web"


def test_the_worker_keeps_every_file_the_door_page_loads() -> None:
    worker = (WEB / "static" / "door-sw.js").read_text(encoding="utf-8")
    listed = re.search(r"var ASSETS = \[(.*?)\];", worker, re.S)
    assert listed
    kept = set(re.findall(r'"(/static/[^"]+)"', listed.group(1)))
    pages = [(WEB / "templates" / name).read_text(encoding="utf-8") for name in ("base.html", "organiser_meeting.html")]
    loaded = {p for page in pages for p in re.findall(r'(?:href|src)="(/static/[^"]+)"', page)}
    fonts = (WEB / "static" / "vendor" / "noto" / "fonts.css").read_text(encoding="utf-8")
    loaded |= set(re.findall(r"url\((/static/[^)]+)\)", fonts))
    assert loaded, "the pages load files from /static/"
    assert loaded <= kept, f"not kept for offline use: {sorted(loaded - kept)}"
