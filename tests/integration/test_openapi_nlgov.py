"""The OpenAPI document against the NLGov REST API Design Rules (tests/nlgov_rules.py), and the query keys renamed
to lowerCamelCase for them: the new names work, the old v1 spellings still do (services/query_keys.py)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from services.query_keys import renamed
from tests.nlgov_rules import violations

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_the_document_follows_the_nlgov_design_rules(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert violations(document) == []
    # A deliberately broken copy is caught, so the check checks something.
    meetings = document["paths"]["/api/v1/meetings"]["get"]
    meetings["parameters"].append({"name": "series_id", "in": "query"})
    del meetings["responses"]["200"]["headers"]
    document["paths"]["/api/v1/Meetings/"] = {}
    assert sorted(violations(document)) == [
        "/api/v1/Meetings/ ends in a slash",
        "/api/v1/Meetings/ is not kebab-case",
        "GET /api/v1/meetings 200: no API-Version header",
        "GET /api/v1/meetings: query key series_id is not lower camelCase",
    ]


async def test_renamed_query_keys_are_documented_with_their_old_spelling(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/meetings"]["get"]["parameters"]}
    assert {"audienceGroup", "audienceOrganisation", "seriesId"} <= set(parameters)
    assert not {"audience_group", "audience_organisation", "series_id"} & set(parameters)
    assert "`audience_group` (verouderd)" in parameters["audienceGroup"]["description"]
    assert "audience_group" in document["info"]["description"]


def test_old_spellings_become_the_new_ones_and_values_stay_as_sent() -> None:
    assert renamed(b"limit=5") is None
    assert renamed(b"audience_group=wmo-consulent&limit=5") == b"audienceGroup=wmo-consulent&limit=5"
    assert renamed(b"series_id=a&seriesId=b") == b"seriesId=b", "both given: the new one wins"
    assert renamed(b"q=%C3%A9%26x&offer_token=t%3D") == b"q=%C3%A9%26x&offerToken=t%3D"
    assert renamed(b"not_renamed=1") is None
