"""Fixtures of the browser tests: one Chromium per test process, and per test the real site: `leerkring api` in
its own process on the test's database, in-process workers sending to the test's SMTP sink, and the mailed links
pointing at that server so the browser can open them as they come."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from services.settings import Settings
from tests.e2e.browser import DESKTOP, chromium_path
from tests.servers import api_process, free_port, leerkring_env
from workers.testing import running_workers


class Site(msgspec.Struct, kw_only=True):
    base: str
    settings: Settings


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "no Chromium at /usr/bin/chromium (apt-get install -y chromium): the browser tests did NOT run"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a failure, never a quiet skip
        pytest.skip(message)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def site(mail_settings: Settings, tmp_path: Path) -> AsyncIterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = msgspec.structs.replace(mail_settings, base_url=base)
    env = leerkring_env(
        database_url=settings.database_url or "",
        redis_url=settings.redis_url or "",
        secret_key=settings.secret_key,
        base_url=base,
        db_pool_max="4",
    )
    async with api_process(env, log=tmp_path / "api.log", port=port), running_workers(settings):
        yield Site(base=base, settings=settings)


@pytest.fixture
async def api(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    """The organiser's side, through the JSON API of the same server."""
    async with httpx.AsyncClient(base_url=site.base, timeout=30) as client:
        yield client


@pytest.fixture
async def person(chromium: Browser, site: Site) -> AsyncIterator[BrowserContext]:
    """One person's browser (its own cookies), Dutch, at desktop size."""
    context = await chromium.new_context(base_url=site.base, viewport=DESKTOP, locale="nl-NL", accept_downloads=True)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        await context.close()
