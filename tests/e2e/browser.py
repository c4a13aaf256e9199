"""The browser tests' tools: Debian's Chromium driven by Playwright, axe-core on every page, screenshots.

Chromium comes from Debian (`apt-get install -y chromium`; `.ci/run` installs it when missing): Playwright's own
browser download cannot reach the network here, so we launch /usr/bin/chromium (LEERKRING_CHROMIUM overrides).
axe-core is vendored from npm (tests/e2e/vendor/axe.min.js, MPL-2.0; tests/e2e/vendor/UPDATING.md) and run
through Playwright's evaluate, which the pages' CSP (no script at all) does not block: the pages stay as strict
in the test as in production.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# Screenshots for review land here (var/ is not in git); one folder per test session.
RUN_DIR = ROOT / "var" / "browser-runs" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# WCAG 2.1 A and AA, as the Dutch public sector must meet (EN 301 549), plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# What Chromium says when the page under evaluate() was replaced by the next one.
NAVIGATED_AWAY = re.compile(r"Execution context was destroyed|reading 'documentElement'|navigat", re.IGNORECASE)


def chromium_path() -> str | None:
    wanted = os.environ.get("LEERKRING_CHROMIUM", "/usr/bin/chromium")
    return wanted if Path(wanted).exists() else shutil.which("chromium")


class AccessibilityProblems(AssertionError):
    pass


async def axe_check(page: Page, name: str) -> list[dict[str, Any]]:
    """axe-core on the page as it is now; raises on any serious or critical violation, returns the rest.

    A click on a link returns before the next page has loaded: axe then starts on a document that is being
    replaced (in CI it met a null documentElement once). So wait for the load, and run again on the new page
    when a navigation still took the old one away mid-run.
    """
    for attempt in range(3):
        await page.wait_for_load_state("load")
        try:
            if not await page.evaluate("typeof window.axe !== 'undefined'"):
                await page.evaluate(AXE)
            result = await page.evaluate(
                "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
            )
            break
        except PlaywrightError as error:
            if attempt == 2 or not NAVIGATED_AWAY.search(str(error)):
                raise
    violations: list[dict[str, Any]] = result["violations"]
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    if bad:
        lines = [
            f"{v['impact']}: {v['id']} – {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})" for v in bad
        ]
        raise AccessibilityProblems(f"axe on {name} ({page.url}):\n" + "\n".join(lines))
    return [v for v in violations if v not in bad]


async def screenshots(page: Page, name: str) -> None:
    """The page at phone and desktop width, full length, into RUN_DIR (for a person to look at)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    size = page.viewport_size
    for label, viewport in (("telefoon", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(RUN_DIR / f"{slug}-{label}.png"), full_page=True)
    if size:
        await page.set_viewport_size(size)


async def look(page: Page, name: str, *, shoot: bool = False) -> None:
    """What every page in a flow gets: axe (no serious or critical problems) and, for the main pages, pictures."""
    await axe_check(page, name)
    if shoot:
        await screenshots(page, name)
