"""The organiser's meeting pages as a walk found them: publishing needs a place, posts redirect (a reload sends
nothing again), the page says where, the invite form has no empty group, earlier batches are listed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.settings import Settings
from tests.api import published
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.factories import meeting_body, participant_body, spring_change
from tests.integration.test_web_sessions import sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def browser(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings), base_url="https://leerkring.test") as client:
        yield like_a_browser(client, settings.secret_key)


async def test_a_meeting_with_nowhere_to_go_is_not_published_by_the_api_nor_the_page(
    browser: Client, keys: Keys
) -> None:
    vng = await keys.headers("organiser", "VNG")
    created = await browser.post("/api/v1/meetings", json=meeting_body(venue=None, online_url=None), headers=vng)
    assert created.status_code == 201, "a draft may still be nowhere"
    mid = created.json()["id"]
    refused = await browser.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in refused.json()["errors"]} == {"venue", "online_url"}
    assert "locatie" in refused.json()["detail"]

    await sign_in(browser, vng)
    page = await browser.post(f"/organisator/bijeenkomsten/{mid}/publiceren")
    assert page.status_code == 422, "the form, with the message at the fields that can put it right"
    assert 'id="fout-venue_name"' in page.text
    assert 'id="fout-online_url"' in page.text
    assert 'href="#veld-venue_name"' in page.text, "the error summary links to the field"
    assert (await browser.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["status"] == "draft"

    online = await browser.patch(f"/api/v1/meetings/{mid}", json={"online_url": "https://meet.example.nl/x"},
                                 headers=vng)  # fmt: skip
    assert online.status_code == 200
    done = await browser.post(f"/organisator/bijeenkomsten/{mid}/publiceren", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/organisator/bijeenkomsten/{mid}?gedaan=gepubliceerd"
    # Once published, the place cannot be taken away either.
    emptied = await browser.patch(f"/api/v1/meetings/{mid}", json={"online_url": None}, headers=vng)
    assert emptied.status_code == 422
    assert {e["field"] for e in emptied.json()["errors"]} == {"venue", "online_url"}


async def test_every_change_redirects_so_a_reload_sends_nothing_again(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Terugkomdag")
    mid = meeting["id"]
    await sign_in(browser, vng)
    form = {"title": "Terugkomdag wijkteams", "format": "intervisie", "date": meeting["starts_at"][:10],
            "start": "13:30", "end": "16:00", "capacity": "30", "venue_name": "Stadhuis",
            "venue_city": "Den Haag"}  # fmt: skip
    saved = await browser.post(f"/organisator/bijeenkomsten/{mid}/bewerken", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/organisator/bijeenkomsten/{mid}?gedaan=opgeslagen"
    landed = await browser.get(saved.headers["location"])
    assert landed.status_code == 200
    assert "Opgeslagen." in landed.text
    assert "Stadhuis, Spui 70, Den Haag" not in landed.text, "the form replaced the address"
    assert re.search(r"<dt>Waar</dt><dd>Stadhuis, Den Haag", landed.text), "the page says where"
    # Cancelling asks first (the meeting page's button), and a published meeting's mail needs its reason.
    asked = await browser.post(f"/organisator/bijeenkomsten/{mid}/annuleren", data={"reason": ""})
    assert asked.status_code == 200
    assert 'name="bevestigd" value="ja"' in asked.text
    assert (await browser.get(f"/api/v1/meetings/{mid}")).json()["status"] == "published", "nothing cancelled yet"
    no_reason = await browser.post(
        f"/organisator/bijeenkomsten/{mid}/annuleren", data={"reason": "", "bevestigd": "ja"}
    )
    assert no_reason.status_code == 422
    assert 'id="fout-reason"' in no_reason.text
    cancelled = await browser.post(
        f"/organisator/bijeenkomsten/{mid}/annuleren",
        data={"reason": "ziek", "bevestigd": "ja"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    assert "Geannuleerd" in (await browser.get(cancelled.headers["location"])).text
    assert (await browser.get(f"/organisator/bijeenkomsten/{mid}?gedaan=iets")).status_code == 200


async def test_the_invite_form_has_no_empty_group_and_the_meeting_lists_its_batches(
    browser: Client, keys: Keys
) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Met uitnodigingen")
    mid = meeting["id"]
    await sign_in(browser, vng)
    form = await browser.get(f"/organisator/bijeenkomsten/{mid}/uitnodigen")
    for label, options in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', form.text, re.S):
        assert "<option" in options, f"an empty group {label!r} in the select"
    assert (await browser.get(f"/organisator/bijeenkomsten/{mid}")).text.count("/uitnodigingen/") == 0
    sent = await browser.post(f"/organisator/bijeenkomsten/{mid}/uitnodigen",
                              data={"emails": "een@gemeente.example.nl, twee@gemeente.example.nl"},
                              follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    batch_path = sent.headers["location"]
    page = await browser.get(f"/organisator/bijeenkomsten/{mid}")
    assert f'href="{batch_path}"' in page.text, "the earlier batch links to its progress page"
    assert "uitnodiging" in page.text
    assert (await browser.get(batch_path)).status_code == 200


async def test_the_meeting_form_names_every_wrong_field_and_a_refused_capacity_at_its_field(
    browser: Client, keys: Keys
) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    empty = await browser.post(
        "/organisator/nieuw", data={"title": "", "date": "", "start": "", "end": "", "capacity": "-1"}
    )
    assert empty.status_code == 422
    wrong = set(re.findall(r'id="fout-([a-z_]+)"', empty.text))
    assert {"title", "date", "start", "end", "capacity"} <= wrong, "all at once, not one per submit"
    assert "Moet minstens 1 zijn" in empty.text, "-1 is a number that is too small, not text"

    meeting = await published(browser, vng, title="Kleine zaal", capacity=3)
    for n in (1, 2):
        answer = await browser.post(
            f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(n)}, headers=vng
        )
        assert answer.status_code == 201
    form = {"title": "Kleine zaal", "format": "intervisie", "date": meeting["starts_at"][:10], "start": "13:30",
            "end": "16:00", "capacity": "1", "venue_name": "Stadhuis", "venue_city": "Den Haag"}  # fmt: skip
    refused = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/bewerken", data=form)
    assert refused.status_code == 422, "the form again, not a bare 'Conflict' page"
    assert 'id="fout-capacity"' in refused.text
    assert 'value="Kleine zaal"' in refused.text, "with what was typed"


async def test_the_door_view_says_when_check_in_opens(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Later deze maand")
    answer = await browser.post(
        f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": participant_body(1)}, headers=vng
    )
    assert answer.status_code == 201
    await sign_in(browser, vng)
    page = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}")
    assert 'id="deur-venster"' in page.text, "outside the window the page says why there are no buttons"
    assert "Inchecken kan van" in page.text


async def test_a_refusal_keeps_the_organisers_header_and_its_address_opened_again_leads_back(
    browser: Client, keys: Keys
) -> None:
    vng = await keys.headers("organiser", "VNG")
    meeting = await published(browser, vng, title="Al gepubliceerd")
    await sign_in(browser, vng)
    refused = await browser.post(f"/organisator/bijeenkomsten/{meeting['id']}/aanwezig", data={"registration_id": "x"})
    assert refused.status_code == 422
    assert 'href="/organisator"' in refused.text, "the organiser's header, not the participants'"
    assert f'href="/organisator/bijeenkomsten/{meeting["id"]}"' in refused.text, "and the way back"
    for step in ("annuleren", "publiceren", "aanwezig"):
        again = await browser.get(f"/organisator/bijeenkomsten/{meeting['id']}/{step}", follow_redirects=False)
        assert again.status_code == 303, step
        assert again.headers["location"] == f"/organisator/bijeenkomsten/{meeting['id']}"


async def test_a_draft_that_has_begun_is_not_published_and_the_form_says_so_at_the_start(
    browser: Client, keys: Keys
) -> None:
    vng = await keys.headers("organiser", "VNG")
    now = datetime.now(UTC).replace(microsecond=0)
    body = meeting_body(
        starts_at=(now - timedelta(hours=1)).isoformat(), ends_at=(now + timedelta(hours=2)).isoformat()
    )
    created = await browser.post("/api/v1/meetings", json=body, headers=vng)
    assert created.status_code == 201, "a draft may start in the past"
    mid = created.json()["id"]
    refused = await browser.post(f"/api/v1/meetings/{mid}/publish", headers=vng)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["starts_at"]
    assert "Het begin ligt in het verleden" in refused.json()["detail"]

    await sign_in(browser, vng)
    page = await browser.post(f"/organisator/bijeenkomsten/{mid}/publiceren")
    assert page.status_code == 422, "the form, with the message at the start time"
    assert 'id="fout-start"' in page.text
    assert "Het begin ligt in het verleden" in page.text
    assert (await browser.get(f"/api/v1/meetings/{mid}", headers=vng)).json()["status"] == "draft"

    later = now + timedelta(days=3)
    moved = await browser.patch(
        f"/api/v1/meetings/{mid}",
        json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()},
        headers=vng,
    )
    assert moved.status_code == 200, "the draft stays editable"
    assert (await browser.post(f"/api/v1/meetings/{mid}/publish", headers=vng)).status_code == 200


async def test_a_time_the_clock_skips_is_said_at_its_field_not_as_end_before_start(browser: Client, keys: Keys) -> None:
    vng = await keys.headers("organiser", "VNG")
    await sign_in(browser, vng)
    day = spring_change()
    form = {"title": "Nachtsessie", "format": "intervisie", "date": day.isoformat(), "start": "02:30", "end": "03:15",
            "capacity": "10", "venue_name": "Stadhuis", "venue_city": "Den Haag"}  # fmt: skip
    skipped = await browser.post("/organisator/nieuw", data=form)
    assert skipped.status_code == 422
    errors = dict(re.findall(r'id="fout-([a-z_]+)">([^<]*)<', skipped.text))
    assert errors == {
        "start": "Deze tijd bestaat niet op die dag: de klok gaat dan een uur vooruit (begin van de zomertijd)"
    }
    assert 'value="02:30"' in skipped.text, "what was typed stays"
    ending = await browser.post("/organisator/nieuw", data=form | {"start": "01:30", "end": "02:15"})
    assert set(re.findall(r'id="fout-([a-z_]+)"', ending.text)) == {"end"}
    browser.cookies.set("leerkring_taal", "en")
    english = await browser.post("/organisator/nieuw", data=form)
    assert "This time does not exist on that day: the clocks go forward an hour" in english.text
    browser.cookies.set("leerkring_taal", "nl")
    # Either side of the gap is an ordinary time.
    made = await browser.post("/organisator/nieuw", data=form | {"start": "01:30", "end": "03:15"},
                              follow_redirects=False)  # fmt: skip
    assert made.status_code == 303, made.text
    # The API takes moments with their offset, so it has no such gap: 01:30+01:00 to 03:15+02:00 is 45 minutes.
    api = await browser.post(
        "/api/v1/meetings",
        json=meeting_body(starts_at=f"{day}T01:30:00+01:00", ends_at=f"{day}T03:15:00+02:00"),
        headers=vng,
    )
    assert api.status_code == 201, api.text
    assert (api.json()["starts_at"], api.json()["ends_at"]) == (f"{day}T01:30:00+01:00", f"{day}T03:15:00+02:00")
