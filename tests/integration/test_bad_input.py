"""Every invalid request gets problem+json naming the field; never a 500, never a partial write."""

from __future__ import annotations

import base64
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient

from services.db import Connection
from tests.api import published, register
from tests.factories import meeting_body

Client = AsyncTestClient  # type: ignore[type-arg]


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    if field is not None:
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    return problem  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_at": "2020-01-01T10:00:00+01:00", "starts_at": "2020-01-01T11:00:00+01:00"}, "ends_at"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "veel"}, "capacity"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Overleg\r\nATTENDEE:mailto:evil@example.org"}, "title"),
        ({"title": "   "}, "title"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"online_url": "ftp://example.org/x"}, "online_url"),
        ({"surprise": True}, "surprise"),
        ({"format": "dansles"}, "format"),
        ({"starts_at": "2031-01-01T10:00:00"}, "starts_at"),
        ({"starts_at": "0001-01-01T00:30:00+01:00"}, "starts_at"),  # year 0 in UTC: was a 500
        ({"ends_at": "9999-12-31T23:59:00-01:00"}, "ends_at"),  # year 10000 in UTC: was a 500
        ({"capacity": None}, "capacity"),
        ({"themes": ["bestaat-niet"]}, "themes"),
        ({"funder_codes": ["VNG"]}, "funder_codes"),
        ({"audience": {"regions": ["VR99"]}}, "audience_regions"),
        ({"venue": {"name": "Zaal", "kleur": "rood"}}, "venue.kleur"),
    ],
)
async def test_meeting_field_errors(
    client: Client, vng: dict[str, str], conn: Connection, overrides: dict[str, Any], field: str
):
    body = meeting_body(**overrides)
    response = await client.post("/api/v1/meetings", json=body, headers=vng)
    problem = assert_problem(response, 422, field)
    assert problem["detail"]
    assert await conn.fetchval("SELECT count(*) FROM meetings") == 0


async def test_field_messages_are_dutch(client: Client, vng: dict[str, str]):
    response = await client.post("/api/v1/meetings", json=meeting_body(capacity=0), headers=vng)
    assert response.json()["errors"] == [{"field": "capacity", "message": "Moet minstens 1 zijn"}]
    missing = meeting_body()
    del missing["title"]
    response = await client.post("/api/v1/meetings", json=missing, headers=vng)
    assert response.json()["errors"] == [{"field": "title", "message": "Dit veld is verplicht"}]
    empty = await client.post("/api/v1/meetings", json=meeting_body(title=""), headers=vng)
    assert empty.json()["errors"] == [{"field": "title", "message": "Dit veld mag niet leeg zijn"}]
    wrong_method = await client.delete("/api/v1/meetings", headers=vng)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["detail"].startswith("Dit adres kent deze methode niet")
    nul = await client.post(
        "/api/v1/meetings", content=b'{"title": "a\x00b"}', headers={**vng, "content-type": "application/json"}
    )
    assert "NUL-teken" in nul.json()["detail"]


async def test_malformed_json(client: Client, vng: dict[str, str]):
    response = await client.post(
        "/api/v1/meetings", content=b'{"title": "half', headers={**vng, "content-type": "application/json"}
    )
    assert_problem(response, 400, "body")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/meetings", b"[" * 1000 + b"]" * 1000),
        ("/api/v1/participants", b'{"title": ' + b"[" * 1000 + b"]" * 1000 + b"}"),  # anonymous, an unknown field
    ],
)
async def test_deeply_nested_json_is_bad_input_not_a_server_error(
    client: Client, vng: dict[str, str], path: str, body: bytes
):
    response = await client.post(path, content=body, headers={**vng, "content-type": "application/json"})
    assert_problem(response, 400, "body")
    assert "te diep genest" in response.json()["detail"]


async def test_an_empty_body_is_named_as_missing(client: Client, vng: dict[str, str]):
    response = await client.post("/api/v1/meetings", content=b"", headers={**vng, "content-type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json()["errors"] == [
        {"field": "body", "message": "Stuur de gegevens als JSON in de body van het verzoek"}
    ], "not Litestar's internal 'data'"


async def test_body_over_the_limit(client: Client, vng: dict[str, str]):
    response = await client.post("/api/v1/meetings", json=meeting_body(description="x" * 70_000), headers=vng)
    assert_problem(response, 413)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer lkr_000000000000_secret"],
)
async def test_missing_or_bad_key(client: Client, authorization: str | None):
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.post("/api/v1/meetings", json=meeting_body(), headers=headers)
    assert_problem(response, 401)


async def test_revoked_key_is_refused(client: Client, conn: Connection):
    from services.auth.keys import create_key, revoke_key

    key, stored = await create_key(conn, role="organiser", organisation_code="VNG")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.post("/api/v1/meetings", json=meeting_body(), headers=headers)).status_code == 201
    await revoke_key(conn, stored.prefix)
    assert_problem(await client.post("/api/v1/meetings", json=meeting_body(), headers=headers), 401)
    # a key with the right prefix but a wrong secret is refused the same way
    forged = key[:-4] + "AAAA"
    assert_problem(await client.get("/api/v1/meetings", headers={"Authorization": f"Bearer {forged}"}), 401)


async def test_unknown_meeting_and_route(client: Client, vng: dict[str, str]):
    assert_problem(await client.get("/api/v1/meetings/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(await client.get("/api/v1/meetings/not-a-uuid"), 404)
    assert_problem(await client.get("/api/v1/nothing-here"), 404)
    assert_problem(await client.delete("/api/v1/meetings", headers=vng), 405)


async def test_bad_query_parameters(client: Client):
    assert_problem(await client.get("/api/v1/meetings", params={"limit": 1000}), 422, "limit")
    assert_problem(await client.get("/api/v1/meetings", params={"cursor": "!!!"}), 422, "cursor")
    assert_problem(await client.get("/api/v1/meetings", params={"status": "gezellig"}), 422, "status")
    assert_problem(await client.get("/api/v1/meetings", params={"from": "2027-01-01T00:00:00"}), 422, "from")
    # A bare number parsed as a Unix time and answered 200 (schemathesis: the document says RFC 3339 text).
    assert_problem(await client.get("/api/v1/meetings", params={"to": "-36174"}), 422, "to")


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Cursors we never handed out, each shaped to get past a length check and reach a query if decoding let it.
_FOREIGN_CURSORS = [
    "niet-base64-!!",
    _cursor("{}"),
    _cursor('["x"]'),
    _cursor('["2027-01-01T10:00:00+01:00", "geen-uuid"]'),
    _cursor("[99999999999999999999, 1]"),
    _cursor("[-1, -1]"),
    _cursor('["\\u0000", "GM0518"]'),
    _cursor("[1.5]"),
]
_NO_LIST_CURSORS = {"niet-base64-!!", _cursor("{}"), _cursor("[1.5]"), _cursor("[99999999999999999999, 1]")}


@pytest.mark.parametrize("cursor", _FOREIGN_CURSORS)
async def test_a_foreign_cursor_is_a_field_error_on_every_list(
    client: Client, admin: dict[str, str], vng: dict[str, str], cursor: str
):
    meeting = await published(client, vng)
    lists = [
        ("/api/v1/meetings", vng),
        ("/api/v1/organisations", vng),
        (f"/api/v1/meetings/{meeting['id']}/registrations", vng),
        (f"/api/v1/meetings/{meeting['id']}/invitations/{uuid4()}/invitees", vng),
        ("/api/v1/events", admin),
        ("/api/v1/webhooks", admin),
        (f"/api/v1/webhooks/{uuid4()}/attempts", admin),
        ("/api/v1/dead-letters", admin),
    ]
    for path, headers in lists:
        response = await client.get(path, params={"cursor": cursor}, headers=headers)
        if cursor in _NO_LIST_CURSORS or response.status_code != 200:
            # A cursor of the right shape (two strings for organisations) is just a position: a page, maybe empty.
            assert_problem(response, 422, "cursor")


async def test_search_text_with_a_nul_byte_is_a_field_error(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng)
    for path in ("/api/v1/organisations", f"/api/v1/meetings/{meeting['id']}/registrations"):
        response = await client.get(path, params={"q": "Den\x00Haag"}, headers=vng)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_dead_letter_id_past_bigint_is_a_field_error(client: Client, admin: dict[str, str]):
    for path in (f"/api/v1/dead-letters/{2**63}", f"/api/v1/dead-letters/{2**64 + 7}"):
        assert_problem(await client.get(path, headers=admin), 422, "dead_letter_id")
    assert_problem(await client.post(f"/api/v1/dead-letters/{2**63}/retry", headers=admin), 422, "dead_letter_id")


async def test_a_non_ascii_offer_token_is_refused_like_any_wrong_token(client: Client, vng: dict[str, str]):
    meeting = await published(client, vng, capacity=1)
    for n in (1, 2):
        await register(client, meeting["id"], n)
    waiting = (await client.get(f"/api/v1/meetings/{meeting['id']}/registrations", headers=vng)).json()["items"][-1]
    for token in ("ĳsbeer-€", "x" * 20):
        response = await client.post(f"/api/v1/registrations/{waiting['id']}/accept", params={"offer_token": token})
        assert response.status_code in (401, 403, 404), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    page = await client.get(f"/aanbod/{waiting['id']}/accept/ĳsbeer-€")
    assert page.status_code in (403, 404)
    assert "text/html" in page.headers["content-type"]


async def test_a_form_body_for_a_json_endpoint_is_415(client: Client, vng: dict[str, str]):
    headers = {**vng, "content-type": "application/x-www-form-urlencoded"}
    response = await client.post("/api/v1/meetings", content=b"title=Intervisie", headers=headers)
    problem = assert_problem(response, 415)
    assert "application/json" in problem["detail"]


async def test_errors_name_parameters_as_the_caller_spells_them(client: Client, vng: dict[str, str]):
    assert_problem(await client.get("/api/v1/meetings", params={"from": "gisteren"}), 422, "from")
    meeting = await published(client, vng)
    listing = await client.get(f"/api/v1/meetings/{meeting['id']}/registrations?status=zoek", headers=vng)
    problem = assert_problem(listing, 422, "status")
    assert problem["errors"][0]["message"] == "Onbekende waarde 'zoek'"


async def test_non_ascii_tokens_in_reminder_and_evaluation_links_are_just_wrong(client: Client):
    rid = uuid4()
    for path in (
        f"/ik-kan-niet/{rid}/ĳsbeer-€",
        f"/herinneringen-uit/{rid}/deze/ĳsbeer-€",
        f"/evaluatie/{rid}/ĳsbeer-€",
    ):
        page = await client.get(path)
        assert page.status_code < 500, (path, page.status_code)
        assert "text/html" in page.headers["content-type"], path
