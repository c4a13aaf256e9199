"""The agenda offers its own calendar feed: the shared feed nearest to the chosen filter, and the link opens."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from litestar.testing import AsyncTestClient

from tests.api import published

Client = AsyncTestClient  # type: ignore[type-arg]


def webcal(page: str) -> str:
    found = re.search(r'href="(webcal://[^"]+)"', page)
    assert found, "a subscribe link on the agenda"
    return unquote(found.group(1))


async def test_the_agenda_links_the_feed_of_what_was_chosen_and_it_opens(client: Client, vng: dict[str, str]):
    await published(client, vng, title="Over de bedoeling", themes=["de-bedoeling"])
    everything = await client.get("/agenda")
    assert urlsplit(webcal(everything.text)).path == "/feeds/public.ics"
    assert 'href="https://calendar.google.com/calendar/r?cid=webcal' in everything.text
    theme = await client.get("/agenda", params={"thema": "de-bedoeling"})
    path = urlsplit(webcal(theme.text)).path
    assert path == "/feeds/themes/de-bedoeling.ics"
    group = await client.get("/agenda", params={"groep": "wmo-consulent"})
    assert urlsplit(webcal(group.text)).path == "/feeds/groups/wmo-consulent.ics"
    opened = await client.get(path)
    assert opened.status_code == 200
    assert opened.headers["content-type"].startswith("text/calendar")
