"""The funder in a real browser: the dashboard of their report (server-side SVG charts, each with its table) shows
the API's own figures, and the XLSX downloaded from it holds the same rows as the API's."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import BrowserContext, expect

from services.db import Connection
from tests.conftest import Keys
from tests.e2e.browser import look
from tests.e2e.conftest import Site
from tests.report_seed import seed
from tests.xlsx import read_xlsx


async def test_a_funder_reads_the_dashboard_and_downloads_the_xlsx(
    site: Site, api: httpx.AsyncClient, person: BrowserContext, conn: Connection, keys: Keys, tmp_path: Path
) -> None:
    await seed(conn)
    aof = await keys.headers("funder", "AOF")
    page = await person.new_page()
    await page.goto("/organisator/inloggen")
    await page.get_by_label("API-sleutel").fill(aof["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Rapportage – A&O fonds Gemeenten")
    await page.get_by_label("Jaar").fill("2026")
    await page.get_by_role("button", name="Toon").click()
    await look(page, "financier", shoot=True)

    by_group = (await api.get("/api/v1/reports/attendance?year=2026&groupBy=professional_group", headers=aof)).json()
    await expect(page.locator("#totaal-aanwezig")).to_have_text(str(by_group["total"]["attended"]))
    chart = page.get_by_role("img", name="Aanwezig per beroepsgroep")
    await expect(chart).to_be_visible()
    table = page.get_by_role("table", name="Aanwezig per beroepsgroep, als tabel")
    for row in by_group["rows"]:
        label = row["labels"].get("professional_group") or row["dimensions"]["professional_group"]
        cells = table.get_by_role("row", name=label)
        await expect(cells.get_by_role("cell").nth(2)).to_have_text(str(row["attended"]))
    assert "geheim" not in await page.content(), "no address or name of a participant on the funder's page"
    # The map beside the province table: one shape per province, each named with its figure on hover.
    province_map = page.get_by_role("img", name="Kaart: gemeenten bereikt per provincie")
    await expect(province_map).to_be_visible()
    await expect(province_map.locator("path")).to_have_count(12)
    by_province = (await api.get("/api/v1/reports/attendance?year=2026&groupBy=province", headers=aof)).json()
    for row in by_province["rows"]:
        name = row["labels"].get("province")
        if name:
            await expect(province_map.locator("title", has_text=f"{name}:")).to_have_count(1)

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="XLSX per beroepsgroep").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "rapport.xlsx"
    await download.save_as(saved)
    from_page = read_xlsx(saved.read_bytes())
    from_api = read_xlsx(
        (
            await api.get("/api/v1/reports/attendance?year=2026&groupBy=professional_group&format=xlsx", headers=aof)
        ).content
    )
    first = next(iter(from_api.sheets))
    assert from_page.sheets[first].rows == from_api.sheets[first].rows, "the page's download is the API's report"

    # An organiser's key opens no dashboard, and a funder's opens no organiser page.
    await page.goto("/organisator")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Deze pagina is niet voor jouw rol")
