"""The organiser's learning-circle pages, walked in the browser's order: from the dashboard to a new round, the
form's errors at their fields, the composing progress, a member moved by hand, publishing, and the members'
invitations arriving in the SMTP sink."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.csrf import like_a_browser
from tests.factories import spring_change
from tests.integration.invitation_helpers import mails
from tests.integration.test_circles import settled, signup, towns
from tests.integration.test_web_sessions import sign_in
from workers.testing import running_workers

Client = AsyncTestClient  # type: ignore[type-arg]
TITLE = "Intervisiekring Jeugd"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, mail_settings.secret_key)


def form(meeting_id: str, **overrides: str) -> dict[str, str]:
    first = datetime.now(UTC).date() + timedelta(days=40)
    values = {
        "title": TITLE, "signup_meeting": meeting_id, "size_min": "6", "size_max": "8",
        "first_date": first.isoformat(), "start_time": "13:30", "end_time": "16:00", "every_weeks": "6", "count": "2",
        "venue_name": "Huis van de Gemeenten", "venue_address": "Nassaulaan 12", "venue_city": "Den Haag",
        "online_url": "",
    }  # fmt: skip
    return values | overrides


def field_error(page: str, field: str) -> str:
    found = re.search(rf'id="fout-{field}">([^<]*)<', page)
    assert found, f"no error at {field}"
    return found.group(1)


async def state_of(browser: Client, conn: Connection, round_url: str) -> dict[str, Any]:
    """What the page's progress bar reads, once the workers are done."""
    await settled(conn)
    answer = await browser.get(f"{round_url}/voortgang")
    assert answer.status_code == 200
    return dict(answer.json())


async def test_an_organiser_asks_for_circles_reviews_moves_one_and_publishes_from_the_pages(
    browser: Client, conn: Connection, keys: Any, mail_settings: Settings, mail_sink: MailSink
) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting_id, _ = await signup(browser, vng, await towns(conn, 14))
    await sign_in(browser, vng)
    home = await browser.get("/organisator")
    assert 'href="/organisator/leerkringen"' in home.text
    empty = await browser.get("/organisator/leerkringen")
    assert "nog geen leerkringen" in empty.text

    new = await browser.get("/organisator/leerkringen/nieuw")
    assert f'value="{meeting_id}"' in new.text, "the body's sign-up meetings are offered"
    bad = await browser.post(
        "/organisator/leerkringen/nieuw", data=form(meeting_id, first_date="2 maart", count="veel")
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "first_date") == "Geen geldige datum (bijvoorbeeld 2027-03-02)"
    assert field_error(bad.text, "count"), "every wrong field at once, not one per submit"
    assert 'href="#veld-first_date"' in bad.text, "the summary links to the field"
    assert 'value="Intervisiekring Jeugd"' in bad.text, "what was typed stays"
    too_small = await browser.post("/organisator/leerkringen/nieuw", data=form(meeting_id, size_min="9"))
    assert too_small.status_code == 422
    assert "kleiner dan" in field_error(too_small.text, "size_max")

    async with running_workers(mail_settings):
        asked = await browser.post("/organisator/leerkringen/nieuw", data=form(meeting_id), follow_redirects=False)
        assert asked.status_code == 303, asked.text
        round_url = asked.headers["location"]
        assert (await browser.get(round_url)).status_code == 200
        assert (await state_of(browser, conn, round_url))["finished"] is True
        proposed = await browser.get(round_url)
        assert "Kring 1" in proposed.text
        assert "Kring 2" in proposed.text
        assert "Deelnemer 0" in proposed.text, "the members' names: people who registered for the body's meeting"
        # Someone from the larger circle goes to the other one by hand (both stay within 6-8).
        round_ = (await browser.get(f"/api/v1/circle-rounds/{round_url.rsplit('/', 1)[1]}", headers=vng)).json()
        larger, smaller = sorted(round_["circles"], key=lambda c: -len(c["members"]))
        member = larger["members"][0]["member_id"]
        assert f'name="member_id" value="{member}"' in proposed.text
        moved = await browser.post(
            f"{round_url}/verplaatsen", data={"member_id": member, "circle": str(smaller["number"])},
            follow_redirects=False,
        )  # fmt: skip
        assert moved.status_code == 303
        assert moved.headers["location"] == round_url, "Post/Redirect/Get: a reload does not move anyone again"
        moved_page = await browser.get(round_url)
        assert "(vastgezet)" in moved_page.text
        # Repair around the move: the fewest moves, so the moved member keeps the circle (and people) chosen.
        api_url = f"/api/v1/circle-rounds/{round_url.rsplit('/', 1)[1]}"
        before = (await browser.get(api_url, headers=vng)).json()
        assert 'name="houden" value="ja"' in moved_page.text
        repaired = await browser.post(f"{round_url}/samenstellen", data={"houden": "ja"}, follow_redirects=False)
        assert repaired.status_code == 303
        assert (await state_of(browser, conn, round_url))["finished"] is True
        after = (await browser.get(api_url, headers=vng)).json()

        def circles(found: dict[str, Any]) -> set[frozenset[str]]:
            return {frozenset(m["member_id"] for m in c["members"]) for c in found["circles"]}

        assert circles(after) == circles(before), "nothing needed moving: the circles stay as the organiser left them"

        published = await browser.post(f"{round_url}/publiceren", data={}, follow_redirects=False)
        assert published.status_code == 303, published.text
        done = await state_of(browser, conn, round_url)
        assert done["finished"] is True
        assert done["text"].startswith("Gepubliceerd")
        received = [m for m in await mails(mail_sink, 14 * 2, within=60) if TITLE in str(m.message["Subject"])]
    assert len(received) == 14 * 2, "every member, every session"
    listed = await browser.get("/organisator/leerkringen")
    assert TITLE in listed.text
    assert "Gepubliceerd" in listed.text
    again = await browser.post(f"{round_url}/verplaatsen", data={"member_id": member, "circle": "1"})
    assert again.status_code == 409, "a published round changes by repair, and the page says so"
    assert "herstel" in again.text


async def test_another_body_cannot_open_the_round(browser: Client, conn: Connection, keys: Any) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting_id, _ = await signup(browser, vng, await towns(conn, 7))
    await sign_in(browser, vng)
    asked = await browser.post(
        "/organisator/leerkringen/nieuw", data=form(meeting_id, size_min="3", size_max="4"), follow_redirects=False
    )
    assert asked.status_code == 303, asked.text
    await sign_in(browser, await keys.headers("organiser", "AOF"))
    assert (await browser.get(asked.headers["location"])).status_code == 404
    assert TITLE not in (await browser.get("/organisator/leerkringen")).text


async def test_a_time_the_clock_skips_is_said_at_its_field_in_dutch_and_english(browser: Client, keys: Any) -> None:
    await sign_in(browser, await keys.headers("organiser", "VNG"))
    gap = form("", first_date=spring_change().isoformat(), start_time="02:30", end_time="03:15", count="1")
    dutch = await browser.post("/organisator/leerkringen/nieuw", data=gap)
    assert dutch.status_code == 422
    assert field_error(dutch.text, "start_time").startswith("Deze tijd bestaat niet op een van de dagen")
    browser.cookies.set("leerkring_taal", "en")
    english = await browser.post("/organisator/leerkringen/nieuw", data=gap)
    assert field_error(english.text, "start_time").startswith("This time does not exist on one of the days")
