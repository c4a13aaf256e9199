"""The authorization matrix (issue 11): every route of the app, called as each role, against the table below.

The route list comes from the app itself (`app.routes`), so a route added without a line in MATRIX fails this test,
and so does a line for a route that is gone. Each role gets a world of its own (a meeting of VNG with a registered
participant, an invitation batch, a saved list, a series, a webhook, a report subscription, a dead letter), so what
one role deletes or cancels does not change what the next one finds.

Roles, in the order of each line: anonymous, a participant's personal link (the registered participant of VNG's
meeting, as Bearer), an organiser of VNG (the meeting's body), an organiser of AOF (another body), a funder (AOF,
which funds the meeting) and an admin. Outcomes: `ok` 2xx/3xx, `401`, `403`, `404` (hidden: "does not exist"), and
`bad` for any other 4xx (past the door, refused on content or state: 400, 405, 409, 410, 415, 422, 429). A 5xx
always fails. Bodies are valid where that is cheap, so `ok` means the role could really do it.

Pages and feeds take no API key: their door is a cookie, a signed link or a token in the path, so every role sees
the same there unless the line says otherwise. Links in this test are wrong on purpose (`onbekend`): no role gets
past a signed link it does not hold.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
import pytest
from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.db import Connection
from services.participants import tokens
from services.settings import Settings
from tests.conftest import Keys
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.invitation_helpers import Client, published_meeting

ROLES = ("anon", "link", "orgA", "orgB", "funder", "admin")


@dataclass
class World:
    meeting: str
    draft: str
    registration: str
    other_registration: str
    participant: str
    batch: str
    audience_list: str
    series: str
    webhook: str
    subscription: str
    dead_letter: int
    manage_token: str
    feed_token: str


async def make_world(client: Client, conn: Connection, vng: dict[str, str], admin: dict[str, str], n: int) -> World:
    meeting = await published_meeting(client, vng, title=f"Wereld {n}")
    mid = meeting["id"]
    draft = await client.post("/api/v1/meetings", json={**_meeting_body(), "title": f"Concept {n}"}, headers=vng)
    url = f"/api/v1/meetings/{mid}/registrations"
    first = await client.post(url, json={"participant": participant_body(100 + 2 * n)}, headers=vng)
    second = await client.post(url, json={"participant": participant_body(101 + 2 * n)}, headers=vng)
    batch = await client.post(
        f"/api/v1/meetings/{mid}/invitations", json={"emails": [f"wereld{n}@gemeente.example.nl"]}, headers=vng
    )
    saved = await client.post("/api/v1/audience-lists", json={"name": f"Lijst {n}", "groups": ["wmo-consulent"]},
                              headers=vng)  # fmt: skip
    series = await client.post("/api/v1/series", json={"title": f"Reeks {n}"}, headers=vng)
    for answer in (first, second, batch, saved, series, draft):
        assert answer.status_code in (201, 202), answer.text
    webhook = await conn.fetchval(
        "INSERT INTO webhook_subscriptions (url, secret, organisation_code) "
        "VALUES ('https://hooks.example.nl/lk', 'geheim', 'VNG') RETURNING id"
    )
    subscription = await conn.fetchval(
        "INSERT INTO report_subscriptions (funder_code, email, frequency) "
        "VALUES ('AOF', 'rapport@aof.example.nl', 'month') RETURNING id"
    )
    dead = await conn.fetchval(
        "INSERT INTO dead_letters (job, error, attempts) VALUES ('render_meeting_fragment', 'test', 3) RETURNING id"
    )
    participant = UUID(first.json()["participant_id"])
    return World(
        meeting=mid,
        draft=draft.json()["id"],
        registration=first.json()["id"],
        other_registration=second.json()["id"],
        participant=str(participant),
        batch=batch.json()["batch"]["id"],
        audience_list=saved.json()["audience_list"]["id"],
        series=series.json()["id"],
        webhook=str(webhook),
        subscription=str(subscription),
        dead_letter=int(dead),
        manage_token=await tokens.issue(conn, participant, "manage"),
        feed_token=await tokens.issue(conn, participant, "feed"),
    )


def _meeting_body() -> dict[str, Any]:
    from tests.factories import meeting_body

    return meeting_body()


# Path parameters by name, from the role's world.
def _params(w: World) -> dict[str, str]:
    return {
        "meeting_id": w.meeting,
        "registration_id": w.registration,
        "batch_id": w.batch,
        "list_id": w.audience_list,
        "webhook_id": w.webhook,
        "subscription_id": w.subscription,
        "dead_letter_id": str(w.dead_letter),
        "code": "VNG",
        "token": "onbekend",
        "file": f"{w.feed_token}.ics",
        "action": "accept",
        "reach": "deze",
        "request_id": w.registration,
        "invitation_id": "1",
        "name": "onbekend",
        "path": "swagger-ui.css",
        # No circle round in the world (composing one needs a worker): an id nobody has, so the roles that may act
        # on rounds get 404 and the rest their refusal.
        "round_id": "00000000-0000-4000-8000-000000000001",
        "member_id": w.participant,
        "number": "1",
        "questionnaire_id": "00000000-0000-4000-8000-000000000002",  # nobody's: each role's refusal or 404
        "series_id": w.series,
        "staff_id": "00000000-0000-4000-8000-000000000003",  # no page session in this test: every role is refused
        "slug": "de-bedoeling",
    }


Body = Callable[[World], Any]
# What each write sends (JSON unless it is a page form: a dict under "form").
BODIES: dict[str, Body] = {
    "POST /api/v1/organisations": lambda w: {"code": "ORG9", "name": "Nieuw orgaan", "kind": "organiser"},
    "PUT /api/v1/organisations/{code}/mail-quota": lambda w: {"daily_limit": 1000},
    "PUT /api/v1/professional-groups": lambda w: {"slug": "nieuwe-groep", "name": "Nieuwe groep"},
    "PUT /api/v1/themes": lambda w: {"slug": "nieuw-thema", "name": "Nieuw thema"},
    "POST /api/v1/meetings/{meeting_id}/cancel": lambda w: {"reason": "test"},
    "POST /api/v1/meetings": lambda w: _meeting_body(),
    "PATCH /api/v1/meetings/{meeting_id}": lambda w: {"title": "Nieuwe titel"},
    "POST /api/v1/series": lambda w: {"title": "Reeks"},
    "POST /api/v1/staff-addresses": lambda w: {"email": "collega@vng.example.nl"},
    "PATCH /api/v1/series/{series_id}": lambda w: {"title": "Andere naam"},
    "POST /api/v1/participants": lambda w: participant_body(900),
    "PATCH /api/v1/me": lambda w: {"name": "Nieuwe naam"},
    "POST /api/v1/meetings/{meeting_id}/registrations": lambda w: {"participant": participant_body(901)},
    "POST /api/v1/registrations/{registration_id}/cancel": lambda w: {"reason": ""},
    "POST /api/v1/registrations/{registration_id}/rsvp": lambda w: {"rsvp": "tentative"},
    "POST /api/v1/registration-requests/confirm": lambda w: {"token": "x" * 30},
    "POST /api/v1/meetings/{meeting_id}/invitations": lambda w: {"emails": ["nieuw@gemeente.example.nl"]},
    "POST /api/v1/audience-lists": lambda w: {"name": "Nieuwe lijst", "groups": ["wmo-consulent"]},
    "POST /api/v1/meetings/{meeting_id}/attendance": lambda w: {
        "records": [{"registration_id": w.registration, "status": "attended"}]
    },
    "POST /api/v1/meetings/{meeting_id}/attendance/self": lambda w: {"code": "ABC123"},
    "POST /api/v1/webhooks": lambda w: {"url": "https://hooks.example.nl/nieuw"},
    "POST /api/v1/reports/subscriptions": lambda w: {"email": "r@aof.example.nl", "funder": "AOF"},
}

QUERIES: dict[str, dict[str, str]] = {"GET /api/v1/feeds/links": {"feed": "public"}}
FILES = {
    "POST /api/v1/organisations/import": {"data": ("o.csv", b"code,name,kind\nORG8,Nieuw,organiser\n", "text/csv")}
}

# The specification: route -> outcome per role (anon, link, orgA, orgB, funder, admin).
MATRIX: dict[str, str] = {
    "GET /api/v1/meetings/{meeting_id}/evaluation.xlsx": "401 401 ok 403 ok ok",
    "GET /api/v1/questionnaires": "401 401 ok ok 403 ok",
    "GET /api/v1/questionnaires/standaard": "401 401 ok ok ok ok",
    "GET /api/v1/questionnaires/{questionnaire_id}": "401 401 404 404 403 404",
    "GET /api/v1/series/{series_id}/evaluation": "401 401 ok 404 ok ok",
    "GET /api/v1/series/{series_id}/evaluation.csv": "401 401 ok 404 ok ok",
    "GET /api/v1/series/{series_id}/evaluation.xlsx": "401 401 ok 404 ok ok",
    "GET /api/v1/themes/{slug}/evaluation": "401 401 ok ok ok ok",
    "GET /api/v1/themes/{slug}/evaluation.csv": "401 401 ok ok ok ok",
    "GET /api/v1/themes/{slug}/evaluation.xlsx": "401 401 ok ok ok ok",
    "GET /ik-kom/{registration_id}/{token}": "404 404 404 404 404 404",
    "POST /api/v1/questionnaires": "401 401 bad bad bad bad",
    "POST /ik-kom/{registration_id}/{token}": "404 404 404 404 404 404",
    "POST /mijn/agenda-herinnering": "401 401 401 401 401 401",
    #                                               anon link orgA orgB funder admin
    "GET /": "ok ok ok ok ok ok",
    "GET /aanbod/{registration_id}/{action}/{token}": "404 404 404 404 404 404",
    "GET /agenda": "ok ok ok ok ok ok",
    "GET /api/v1/audience-lists": "401 401 ok ok 403 ok",
    "GET /api/v1/audit": "401 401 403 403 403 ok",
    "GET /api/v1/circle-rounds": "401 401 ok ok 403 ok",
    "GET /api/v1/circle-rounds/{round_id}": "401 401 404 404 403 404",
    "GET /api/v1/dead-letters": "401 401 403 403 403 ok",
    "GET /api/v1/dead-letters/{dead_letter_id}": "401 401 403 403 403 ok",
    "GET /api/v1/events": "401 401 ok ok 403 ok",
    "GET /api/v1/feeds/links": "ok ok ok ok ok ok",
    "GET /api/v1/me": "401 ok 401 401 401 401",
    "GET /api/v1/me/export": "401 ok 401 401 401 401",
    "GET /api/v1/me/registrations": "401 ok 401 401 401 401",
    "GET /api/v1/meetings": "ok 401 ok ok ok ok",
    "GET /api/v1/meetings/{meeting_id}": "ok 401 ok ok ok ok",
    "GET /api/v1/meetings/{meeting_id}/attendance": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/checkin": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/checkin-qr.png": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/checkin-qr.svg": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/evaluation": "401 401 ok 403 ok ok",
    "GET /api/v1/meetings/{meeting_id}/evaluation.csv": "401 401 ok 403 ok ok",
    "GET /api/v1/meetings/{meeting_id}/invitations": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/invitations/preview": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/invitations/{batch_id}": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/invitations/{batch_id}/invitees": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/registrations": "401 401 ok 403 403 ok",
    "GET /api/v1/meetings/{meeting_id}/registrations.csv": "401 401 ok 403 403 ok",
    "GET /api/v1/organisations": "ok ok ok ok ok ok",
    "GET /api/v1/organisations/{code}": "ok ok ok ok ok ok",
    "GET /api/v1/organisations/{code}/mail-quota": "401 401 ok 403 403 ok",
    "GET /api/v1/professional-groups": "ok ok ok ok ok ok",
    "GET /api/v1/registrations/{registration_id}": "401 ok ok 403 403 ok",
    "GET /api/v1/reports/attendance": "401 401 403 403 ok ok",
    "GET /api/v1/reports/subscriptions": "401 401 403 403 ok ok",
    "GET /api/v1/series": "401 401 ok ok ok ok",
    "GET /api/v1/staff-addresses": "401 401 ok ok 403 ok",
    "GET /api/v1/series/{series_id}": "401 401 ok 404 404 ok",
    "GET /api/v1/themes": "ok ok ok ok ok ok",
    "GET /api/v1/webhooks": "401 401 ok ok 403 ok",
    "GET /api/v1/webhooks/{webhook_id}": "401 401 ok 404 403 ok",
    "GET /api/v1/webhooks/{webhook_id}/attempts": "401 401 ok 404 403 ok",
    "GET /bevestigen/{token}": "404 404 404 404 404 404",
    "GET /bijeenkomsten/{meeting_id}": "ok ok ok ok ok ok",
    "GET /bijeenkomsten/{meeting_id}/afmelden": "ok ok ok ok ok ok",
    "GET /bijeenkomsten/{meeting_id}/inschrijven": "ok ok ok ok ok ok",
    "GET /dev/mail": "ok ok ok ok ok ok",
    "GET /dev/mail/{name}": "404 404 404 404 404 404",
    "GET /dev/mail/{name}/agenda": "404 404 404 404 404 404",
    "GET /dev/mail/{name}/html": "404 404 404 404 404 404",
    "GET /dev/mail/{name}/text": "404 404 404 404 404 404",
    "GET /evaluatie/{request_id}/{token}": "404 404 404 404 404 404",
    "GET /feeds/groups": "ok ok ok ok ok ok",
    "GET /feeds/organisations": "ok ok ok ok ok ok",
    "GET /feeds/p/{file}": "ok ok ok ok ok ok",
    "GET /feeds/public.ics": "ok ok ok ok ok ok",
    "GET /feeds/themes": "ok ok ok ok ok ok",
    "GET /financier": "401 401 401 401 401 401",
    "GET /financier/rapport": "401 401 401 401 401 401",
    "GET /healthz": "ok ok ok ok ok ok",
    "GET /metrics": "ok ok ok ok ok ok",  # no LEERKRING_METRICS_TOKEN here; with one, its Bearer is the door
    "GET /herinneringen-uit/{registration_id}/{reach}/{token}": "404 404 404 404 404 404",
    "GET /ik-kan-niet/{registration_id}/{token}": "404 404 404 404 404 404",
    "GET /inchecken/{meeting_id}": "ok ok ok ok ok ok",
    "GET /inloggen": "ok ok ok ok ok ok",
    "GET /inloggen/{token}": "404 404 404 404 404 404",
    "GET /mijn": "401 401 401 401 401 401",
    "GET /mijn/agenda-herinnering": "401 401 401 401 401 401",
    "GET /mijn/agenda-link": "401 401 401 401 401 401",
    "GET /mijn/gegevens": "401 401 401 401 401 401",
    "GET /mijn/herinneringen": "401 401 401 401 401 401",
    "GET /mijn/uitloggen": "401 401 401 401 401 401",
    "GET /mijn/verwijderen": "401 401 401 401 401 401",
    "GET /mijn/gegevens.json": "401 401 401 401 401 401",
    "GET /mijn/afmelden/{registration_id}": "401 401 401 401 401 401",
    "GET /organisator": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/bewerken": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/evaluatie": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/evaluatie/{file}": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/export/{file}": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/uitnodigen": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/uitnodigingen/{batch_id}": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/uitnodigingen/{batch_id}/voortgang": "401 401 401 401 401 401",
    "GET /organisator/inloggen": "ok ok ok ok ok ok",
    "GET /organisator/bijeenkomsten/{meeting_id}/aanwezig": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/annuleren": "401 401 401 401 401 401",
    "GET /organisator/bijeenkomsten/{meeting_id}/publiceren": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/{round_id}/publiceren": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/{round_id}/samenstellen": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/{round_id}/verplaatsen": "401 401 401 401 401 401",
    "GET /organisator/reeksen/{series_id}/bewerken": "401 401 401 401 401 401",
    "GET /organisator/inloggen/mail": "ok ok ok ok ok ok",
    "GET /organisator/deur-sw.js": "ok ok ok ok ok ok",
    "GET /organisator/inloggen/link/{token}": "404 404 404 404 404 404",
    "GET /organisator/inloggen/verstuurd": "ok ok ok ok ok ok",
    "GET /organisator/collegas": "401 401 401 401 401 401",
    "GET /organisator/reeksen": "401 401 401 401 401 401",
    "GET /organisator/reeksen/{series_id}": "401 401 401 401 401 401",
    "GET /organisator/leerkringen": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/nieuw": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/{round_id}": "401 401 401 401 401 401",
    "GET /organisator/leerkringen/{round_id}/voortgang": "401 401 401 401 401 401",
    "GET /organisator/nieuw": "401 401 401 401 401 401",
    "GET /readyz": "ok ok ok ok ok ok",
    "GET /schema": "ok ok ok ok ok ok",
    "GET /schema/oauth2-redirect.html": "ok ok ok ok ok ok",
    "GET /schema/openapi.json": "ok ok ok ok ok ok",
    "GET /schema/{path}": "404 404 404 404 404 404",
    "GET /static/docs/{name}": "404 404 404 404 404 404",
    "GET /static/{name}": "404 404 404 404 404 404",
    "GET /favicon.ico": "ok ok ok ok ok ok",  # our icon, public
    "GET /uitnodiging/aanmelden/{token}": "404 404 404 404 404 404",
    "GET /uitnodiging/afmelden/{token}": "404 404 404 404 404 404",
    "GET /uitschrijven/{invitation_id}/{token}": "404 404 404 404 404 404",
    "PATCH /api/v1/circle-rounds/{round_id}/members/{member_id}": "401 401 bad bad bad bad",
    "PATCH /api/v1/me": "401 ok 401 401 401 401",
    "PATCH /api/v1/meetings/{meeting_id}": "401 401 ok 403 403 ok",
    "POST /aanbod/{registration_id}/{action}/{token}": "403 403 403 403 403 403",
    "POST /api/v1/audience-lists": "401 401 ok ok 403 bad",
    "POST /api/v1/circle-rounds": "401 401 bad bad bad bad",
    "POST /api/v1/circle-rounds/{round_id}/members": "401 401 bad bad bad bad",
    "POST /api/v1/circle-rounds/{round_id}/publish": "401 401 404 404 403 404",
    "POST /api/v1/circle-rounds/{round_id}/repair/apply": "401 401 404 404 403 404",
    "POST /api/v1/circle-rounds/{round_id}/solve": "401 401 404 404 403 404",
    "POST /api/v1/dead-letters/{dead_letter_id}/retry": "401 401 403 403 403 bad",
    "POST /api/v1/invitations/replies": "401 401 403 403 403 bad",
    "POST /api/v1/me/feed": "401 ok 401 401 401 401",
    "POST /api/v1/meetings": "401 401 ok ok 403 bad",
    "POST /api/v1/meetings/{meeting_id}/attendance": "401 401 bad 403 403 bad",
    "POST /api/v1/meetings/{meeting_id}/attendance/release-no-shows": "401 401 bad 403 403 bad",
    "POST /api/v1/meetings/{meeting_id}/attendance/self": "bad bad bad bad bad bad",
    "POST /api/v1/meetings/{meeting_id}/invitations": "401 401 ok 403 403 ok",
    "POST /api/v1/meetings/{meeting_id}/publish": "401 401 bad 403 403 bad",
    "POST /api/v1/meetings/{meeting_id}/registrations": "ok 403 ok 403 403 ok",
    "POST /api/v1/organisations": "401 401 403 403 403 ok",
    "POST /api/v1/organisations/import": "401 401 403 403 403 ok",
    "POST /api/v1/participants": "ok ok ok ok 403 ok",
    "POST /api/v1/registration-requests/confirm": "404 404 404 404 404 404",
    "POST /api/v1/registrations/{registration_id}/accept": "401 ok ok 403 403 ok",
    "POST /api/v1/registrations/{registration_id}/cancel": "401 ok ok 403 403 ok",
    "POST /api/v1/registrations/{registration_id}/decline": "401 bad bad 403 403 bad",
    "POST /api/v1/registrations/{registration_id}/rsvp": "401 bad bad 403 403 bad",
    "POST /api/v1/reports/subscriptions": "401 401 403 403 ok ok",
    "POST /api/v1/series": "401 401 ok ok 403 bad",
    "POST /api/v1/staff-addresses": "401 401 ok ok 403 bad",
    "PATCH /api/v1/series/{series_id}": "401 401 ok 404 403 ok",
    "POST /api/v1/webhooks": "401 401 ok ok 403 ok",
    "POST /api/v1/webhooks/{webhook_id}/secret": "401 401 ok 404 403 ok",
    "POST /bevestigen/{token}": "404 404 404 404 404 404",
    "POST /bijeenkomsten/{meeting_id}/afmelden": "401 401 401 401 401 401",
    "POST /bijeenkomsten/{meeting_id}/inschrijven": "bad bad bad bad bad bad",
    "POST /evaluatie/{request_id}/{token}": "404 404 404 404 404 404",
    "POST /herinneringen-uit/{registration_id}/{reach}/{token}": "404 404 404 404 404 404",
    "POST /ik-kan-niet/{registration_id}/{token}": "404 404 404 404 404 404",
    "POST /inchecken/{meeting_id}": "ok ok ok ok ok ok",
    "POST /inloggen": "bad bad bad bad bad bad",
    "POST /inloggen/{token}": "404 404 404 404 404 404",
    "POST /mijn/agenda-link": "401 401 401 401 401 401",
    "POST /mijn/gegevens": "401 401 401 401 401 401",
    "POST /mijn/herinneringen": "401 401 401 401 401 401",
    "POST /mijn/afmelden/{registration_id}": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/aanwezig": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/aanwezig/lijst": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/annuleren": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/bewerken": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/publiceren": "401 401 401 401 401 401",
    "POST /organisator/bijeenkomsten/{meeting_id}/uitnodigen": "401 401 401 401 401 401",
    "POST /organisator/inloggen": "bad bad bad bad bad bad",
    "POST /organisator/inloggen/mail": "bad bad bad bad bad bad",
    "POST /organisator/inloggen/link/{token}": "404 404 404 404 404 404",
    "POST /organisator/collegas": "401 401 401 401 401 401",
    "POST /organisator/reeksen": "401 401 401 401 401 401",
    "POST /organisator/reeksen/{series_id}/bewerken": "401 401 401 401 401 401",
    "POST /organisator/collegas/{staff_id}/verwijderen": "401 401 401 401 401 401",
    "POST /organisator/leerkringen/nieuw": "401 401 401 401 401 401",
    "POST /organisator/leerkringen/{round_id}/publiceren": "401 401 401 401 401 401",
    "POST /organisator/leerkringen/{round_id}/samenstellen": "401 401 401 401 401 401",
    "POST /organisator/leerkringen/{round_id}/verplaatsen": "401 401 401 401 401 401",
    "POST /organisator/nieuw": "401 401 401 401 401 401",
    "POST /organisator/uitloggen": "ok ok ok ok ok ok",
    "POST /taal": "ok ok ok ok ok ok",
    "POST /uitnodiging/aanmelden/{token}": "404 404 404 404 404 404",
    "POST /uitnodiging/afmelden/{token}": "404 404 404 404 404 404",
    "POST /uitschrijven/{invitation_id}/{token}": "404 404 404 404 404 404",
    "PUT /api/v1/circle-rounds/{round_id}/circles/{number}/place": "401 401 bad bad bad bad",
    "PUT /api/v1/organisations/{code}/mail-quota": "401 401 403 403 403 ok",
    "PUT /api/v1/professional-groups": "401 401 403 403 403 ok",
    "PUT /api/v1/themes": "401 401 403 403 403 ok",
    "DELETE /api/v1/audience-lists/{list_id}": "401 401 ok 404 403 ok",
    "DELETE /api/v1/circle-rounds/{round_id}/members/{member_id}": "401 401 404 404 403 404",
    "DELETE /api/v1/me/feed": "401 ok 401 401 401 401",
    "DELETE /api/v1/reports/subscriptions/{subscription_id}": "401 401 403 403 ok ok",
    "DELETE /api/v1/webhooks/{webhook_id}": "401 401 ok 404 403 ok",
    "DELETE /api/v1/staff-addresses/{staff_id}": "401 401 404 404 403 404",
    "POST /api/v1/meetings/{meeting_id}/cancel": "401 401 ok 403 403 ok",
    "POST /api/v1/me/token": "401 ok 401 401 401 401",
    "DELETE /api/v1/me/token": "401 ok 401 401 401 401",
    "POST /mijn/uitloggen": "401 401 401 401 401 401",
    "POST /mijn/verwijderen": "401 401 401 401 401 401",
    "DELETE /api/v1/me": "401 ok 401 401 401 401",
}


def routes(app: Litestar) -> list[str]:
    """Every method and path of the app, as 'GET /api/v1/meetings/{meeting_id}' (OPTIONS and HEAD left out: the
    framework answers those for every route the same way)."""
    found: set[str] = set()
    for route in app.routes:
        path = re.sub(r":[a-z]+}", "}", route.path)
        if isinstance(route, ASGIRoute):
            found.add(f"GET {path}")
            continue
        assert isinstance(route, HTTPRoute)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in ("OPTIONS", "HEAD"):
                    found.add(f"{method} {path}")
    return sorted(found, key=_order)


# Reads first, then writes, then what takes things away: the meeting's cancellation, the link's own rotation and
# revocation, the erasure last (within one role's world).
_LAST = {
    "POST /api/v1/meetings/{meeting_id}/cancel": 3,
    "POST /api/v1/me/token": 4,
    "DELETE /api/v1/me/token": 5,
    "POST /mijn/uitloggen": 5,
    "POST /mijn/verwijderen": 6,
    "DELETE /api/v1/me": 7,
}


def _order(key: str) -> tuple[int, str]:
    method = key.split(" ", 1)[0]
    return (_LAST.get(key, {"GET": 0, "DELETE": 2}.get(method, 1)), key)


# ASGI-mounted feed routes take the rest of the path themselves.
_ASGI_SUFFIX = {
    "/feeds/groups": "/wmo-consulent.ics",
    "/feeds/organisations": "/VNG.ics",
    "/feeds/themes": "/de-bedoeling.ics",
}


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403, 404):
        return str(status)
    assert status < 500, status
    return "bad"


async def call(client: Client, key: str, world: World, headers: dict[str, str]) -> int:
    method, path = key.split(" ", 1)
    url = path.format(**_params(world)) + _ASGI_SUFFIX.get(path, "")
    body = BODIES.get(key)
    if key in FILES:
        response = await client.request(method, url, files=FILES[key], headers=headers)
    else:
        response = await client.request(
            method, url, json=body(world) if body else None, params=QUERIES.get(key), headers=headers
        )
    return response.status_code


async def role_headers(keys: Keys, world: World) -> dict[str, dict[str, str]]:
    return {
        "anon": {},
        "link": {"Authorization": f"Bearer {world.manage_token}"},
        "orgA": await keys.headers("organiser", "VNG"),
        "orgB": await keys.headers("organiser", "AOF"),
        "funder": await keys.headers("funder", "AOF"),
        "admin": await keys.headers("admin"),
    }


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    """The API with rate limits off: this is about who may, not how often."""
    async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, rate_limit_scale=0))) as api:
        # Page forms carry the CSRF pair a browser has, so a page's line shows its own door, not the CSRF check.
        yield like_a_browser(api, settings.secret_key)


async def test_every_route_answers_each_role_as_the_matrix_says(
    client: Client, conn: Connection, keys: Keys, vng: dict[str, str], admin: dict[str, str]
) -> None:
    listed = routes(client.app)
    got: dict[str, list[str]] = {key: [] for key in listed}
    for n, role in enumerate(ROLES):
        world = await make_world(client, conn, vng, admin, n)
        headers = (await role_headers(keys, world))[role]
        for key in listed:
            if role == "link" and key in _LAST:
                # What comes last ends the link (rotation, logout, erasure): each gets a link of its own.
                headers = {"Authorization": f"Bearer {await tokens.issue(conn, UUID(world.participant), 'manage')}"}
            got[key].append(outcome(await call(client, key, world, headers)))
    table = {key: " ".join(v) for key, v in got.items()}
    assert set(MATRIX) == set(listed), "every route needs a line in MATRIX (and every line a route)"
    wrong = {key: (MATRIX[key], table[key]) for key in listed if MATRIX[key] != table[key]}
    assert not wrong, wrong
