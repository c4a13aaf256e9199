"""Every response carries the API version and the security headers; pages run no script and load styles only from us."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from services import VERSION
from tests.api import published

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_every_kind_of_response_carries_the_headers(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng)
    answers = {
        "api": await client.get("/api/v1/meetings"),
        "problem": await client.get("/api/v1/meetings/niet-een-id"),
        "page": await client.get(f"/bijeenkomsten/{meeting['id']}"),
        "missing page": await client.get("/inloggen/verlopen-token"),
        "feed": await client.get("/feeds/public.ics"),
    }
    for kind, answer in answers.items():
        assert answer.headers["api-version"] == VERSION, kind
        assert answer.headers["x-content-type-options"] == "nosniff", kind
        assert answer.headers["referrer-policy"] == "no-referrer", kind
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], kind
    assert answers["api"].headers["cache-control"] == "no-store"
    assert answers["feed"].headers["cache-control"] == "no-cache", "a feed keeps its own rule: revalidate by ETag"


async def test_pages_allow_no_script_and_style_only_from_the_stylesheet(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng)
    page = await client.get(f"/bijeenkomsten/{meeting['id']}")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "style-src 'self'" in policy
    assert "script-src" not in policy
    assert "unsafe-inline" not in policy
    assert page.headers["content-type"] == "text/html; charset=utf-8", "one charset, once"
    assert "<script" not in page.text
    assert "style=" not in page.text
    assert "<style" not in page.text
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert sheets == [
        "/static/nlds/fonts.css",
        "/static/nlds/theme.css",
        "/static/nlds/components.css",
        "/static/leerkring.css",
    ]
    for sheet in sheets:
        css = await client.get(sheet)
        assert css.status_code == 200, sheet
        assert css.headers["content-type"].startswith("text/css")
    assert ":root{" in css.text
    assert ".utrecht-button" in (await client.get(sheets[2])).text, "the NL Design System components"
    # The theme's typefaces come from us too (font-src 'self'): every font the stylesheet names is served.
    fonts = re.findall(r"url\((/static/fonts/[^)]+)\)", (await client.get(sheets[0])).text)
    assert len(fonts) == 4
    assert "font-src 'self'" in policy
    for font in fonts:
        answer = await client.get(font)
        assert answer.status_code == 200, font
        assert answer.headers["content-type"] == "font/woff2"
        assert answer.content[:4] == b"wOF2"
    unlisted = await client.get("/static/vendor/utrecht/LICENSE-component-library-css.md")
    assert unlisted.status_code == 404, "only the listed files"


async def test_a_form_with_errors_focuses_its_summary_without_script(client: Client):
    page = await client.post("/inloggen", data={"email": "geen-adres"})
    assert page.status_code == 422, page.text
    assert 'id="foutmeldingen" tabindex="-1" autofocus>' in page.text
    assert "<script" not in page.text


async def test_csv_exports_name_one_charset(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng)
    export = await client.get(f"/api/v1/meetings/{meeting['id']}/registrations.csv", headers=vng)
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
