"""Learning circles walked as an organiser and a member do: ask for a round (202), a worker composes, review (move,
pin, re-solve), publish; each member's invitations arrive in the SMTP sink, one iMIP REQUEST per session, and the
feed link out of the mail shows the sessions. Real PostgreSQL, Redis, SMTP, workers and CP-SAT."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink, ReceivedMail
from services.app import create_app
from services.db import Connection
from services.settings import Settings
from tests.api import published
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from tests.integration.test_participant_journey import link, subjects, to
from tests.invitation_checks import parse_imip
from workers.testing import no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
TITLE = "Intervisiekring Wmo"


@pytest.fixture
async def browser(mail_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield client


async def towns(conn: Connection, count: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT code FROM organisations WHERE kind = 'municipality' AND province_code IS NOT NULL ORDER BY code "
        "LIMIT $1",
        count,
    )
    return [r["code"] for r in rows]


async def signup(client: Client, vng: dict[str, str], codes: list[str]) -> tuple[str, list[str]]:
    """A sign-up meeting of VNG with one confirmed registrant per code (their municipality); (meeting, ids)."""
    meeting = await published(client, vng, title="Aanmelden leerkringen", capacity=100)
    ids = []
    for n, code in enumerate(codes):
        body = participant_body(n, organisation_code=code)
        response = await client.post(
            f"/api/v1/meetings/{meeting['id']}/registrations", json={"participant": body}, headers=vng
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["participant_id"])
    return meeting["id"], ids


def round_body(**overrides: Any) -> dict[str, Any]:
    first = datetime.now(UTC).date() + timedelta(days=40)
    body: dict[str, Any] = {
        "title": TITLE,
        "size_min": 6,
        "size_max": 8,
        "schedule": {"first_date": first.isoformat(), "start_time": "13:30", "end_time": "16:00", "every_weeks": 6,
                     "count": 2},
        "venue": {"name": "Huis van de Gemeenten", "address": "Nassaulaan 12", "city": "Den Haag"},
        "funder_codes": ["AOF"],
        "time_limit_seconds": 2,
    }  # fmt: skip
    body.update(overrides)
    return body


async def settled(conn: Connection) -> None:
    await wait_until(lambda: no_pending_jobs(conn), within=60)


async def until_state(client: Client, conn: Connection, round_id: str, state: str, headers: dict[str, str]) -> Any:
    await settled(conn)
    found = (await client.get(f"/api/v1/circle-rounds/{round_id}", headers=headers)).json()
    assert found["state"] == state, found
    return found


def circle_of(round_: dict[str, Any], participant_id: str) -> int:
    return next(c["number"] for c in round_["circles"] for m in c["members"] if m["participant_id"] == participant_id)


def member_id(round_: dict[str, Any], participant_id: str) -> str:
    return next(
        m["member_id"] for c in round_["circles"] for m in c["members"] if m["participant_id"] == participant_id
    )


def circle_mails(received: list[ReceivedMail]) -> list[ReceivedMail]:
    return [m for m in received if TITLE in str(m.message["Subject"])]


async def test_a_round_is_composed_reviewed_published_and_every_member_gets_each_session_in_their_calendar(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    codes = await towns(conn, 7)
    meeting_id, ids = await signup(browser, vng, codes + codes)  # 14 people, two from each of 7 municipalities
    apart = [ids[0], ids[1]]
    asked = await browser.post(
        "/api/v1/circle-rounds", json=round_body(signup_meeting_id=meeting_id, apart=[apart]), headers=vng
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["state"] == "composing"
    url = asked.headers["Location"]
    round_id = asked.json()["id"]
    async with running_workers(mail_settings):
        proposal = await until_state(browser, conn, round_id, "proposed", vng)
        assert [c["score"]["size"] for c in proposal["circles"]] == [7, 7]
        for circle in proposal["circles"]:
            assert len({m["organisation_code"] for m in circle["members"]}) == 7, "no two of one municipality"
        assert circle_of(proposal, ids[0]) != circle_of(proposal, ids[1]), "not together, as asked"
        score = proposal["score"]
        assert score["violations"] == []
        assert 0 <= score["bound"] <= score["objective"] <= score["greedy_objective"]
        assert score["solver_status"] in ("OPTIMAL", "FEASIBLE")

        # Move someone to the other circle by hand: it breaks the municipality rule, the score says so, and
        # publishing refuses; re-solving around the pin repairs the rest.
        moved = ids[2]
        target = 3 - circle_of(proposal, moved)
        patched = await browser.patch(
            f"{url}/members/{member_id(proposal, moved)}", json={"circle": target}, headers=vng
        )
        assert patched.status_code == 200, patched.text
        assert circle_of(patched.json(), moved) == target
        assert any(codes[2] in v for v in patched.json()["score"]["violations"])
        refused = await browser.post(f"{url}/publish", headers=vng)
        assert refused.status_code == 409
        assert refused.json()["errors"][0]["field"] == "circles"
        again = await browser.post(f"{url}/solve", headers=vng)
        assert again.status_code == 202
        resolved = await until_state(browser, conn, round_id, "proposed", vng)
        assert circle_of(resolved, moved) == target, "the pinned member stayed where the organiser put them"
        assert resolved["score"]["violations"] == []

        published_ = await browser.post(f"{url}/publish", headers=vng)
        assert published_.status_code == 202, published_.text
        done = await until_state(browser, conn, round_id, "published", vng)
        received = circle_mails(await mails(mail_sink, 14 + 14 * 2, within=60))
        # Publishing twice does nothing more.
        assert (await browser.post(f"{url}/publish", headers=vng)).json()["state"] == "published"
        await settled(conn)

    assert all(c["series_id"] for c in done["circles"])
    assert len(received) == 28, subjects(received)
    for n, participant_id in enumerate(ids):
        email = f"deelnemer{n}@gemeente.example.nl"
        mine = to(received, email)
        assert len(mine) == 2, "one calendar invitation per session"
        uids = {parse_imip(m.message, method="REQUEST", to=email).uid for m in mine}  # type: ignore[arg-type]
        assert len(uids) == 2
        series = done["circles"][circle_of(done, participant_id) - 1]["series_id"]
        titles = await conn.fetch("SELECT title FROM meetings WHERE series_id = $1 ORDER BY starts_at", UUID(series))
        assert all(f"kring {circle_of(done, participant_id)}" in r["title"] for r in titles)
    assert len(circle_mails(mail_sink.messages)) == 28, "exactly once"

    # The member follows the feed link out of the mail: both sessions of their circle are in their calendar feed.
    mine = to(received, "deelnemer0@gemeente.example.nl")
    feed = await browser.get(link(mine[0], "/feeds/p/"))
    assert feed.status_code == 200
    unfolded = feed.text.replace("\r\n ", "")
    for mail in mine:
        uid = parse_imip(mail.message, method="REQUEST").uid  # type: ignore[arg-type]
        assert f"UID:{uid}" in unfolded
