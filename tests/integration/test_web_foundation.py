"""What every page stands on: CSRF tokens in forms, the cookies' flags, the language switch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.settings import Settings
from services.web.csrf import COOKIE as CSRF_COOKIE
from tests.api import published

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"


@pytest.fixture
async def bare(settings: Settings) -> AsyncIterator[Client]:
    """A browser that sends only what the pages gave it (no test helper adding tokens)."""
    async with AsyncTestClient(app=create_app(settings), base_url=BASE) as client:
        yield client


def form_token(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "the form carries its CSRF token"
    return found.group(1)


async def test_a_form_needs_the_token_its_page_gave(bare: Client) -> None:
    refused = await bare.post("/inloggen", data={"email": "iemand@gemeente.example.nl"})
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"], "a page, not problem+json"
    assert "Dit formulier is verlopen" in refused.text

    shown = await bare.get("/inloggen")
    cookie = next(h for h in shown.headers.get_list("set-cookie") if h.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie.replace("SameSite=Lax", "SameSite=lax")
    token = form_token(shown.text)
    forged = await bare.post("/inloggen", data={"email": "iemand@gemeente.example.nl", "_csrf_token": "x" * 128})
    assert forged.status_code == 403, "a token not signed with our secret"
    sent = await bare.post("/inloggen", data={"email": "iemand@gemeente.example.nl", "_csrf_token": token})
    assert sent.status_code == 202, sent.text


async def test_the_json_api_takes_no_csrf_token(bare: Client, vng: dict[str, str]) -> None:
    meeting = await published(bare, vng)
    assert meeting["status"] == "published", "bearer-key POSTs work without a token: no cookie authenticates them"


async def test_the_language_switch_turns_the_pages_english_and_back(bare: Client) -> None:
    agenda = await bare.get("/agenda")
    assert '<html lang="nl"' in agenda.text
    assert "Toon bijeenkomsten" in agenda.text
    token = form_token(agenda.text)
    switched = await bare.post(
        "/taal", data={"taal": "en", "terug": "/agenda", "_csrf_token": token}, follow_redirects=False
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/agenda"
    cookie = next(h for h in switched.headers.get_list("set-cookie") if h.startswith("leerkring_taal="))
    assert "HttpOnly" in cookie
    english = await bare.get("/agenda")
    assert '<html lang="en"' in english.text
    assert "Show meetings" in english.text
    assert "Toon bijeenkomsten" not in english.text
    assert ">Nederlands</button>" in english.text, "the way back is offered in its own language"
    signin = await bare.get("/inloggen")
    assert "Sign in to Leerkring" in signin.text
    away = await bare.post(
        "/taal", data={"taal": "nl", "terug": "//elders.example/pagina", "_csrf_token": token}, follow_redirects=False
    )
    assert away.headers["location"] == "/agenda", "only back to a page of ours"
    assert "Toon bijeenkomsten" in (await bare.get("/agenda")).text


async def test_an_unknown_filter_value_is_said_at_its_field(bare: Client) -> None:
    page = await bare.get("/agenda?thema=bestaat-niet&zoek=%00")
    assert page.status_code == 200
    assert 'href="#veld-thema"' in page.text
    assert 'aria-invalid="true"' in page.text
