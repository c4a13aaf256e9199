"""A query key an /api/v1 operation does not read is a 400 naming it; web pages ignore keys they do not know."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from services.unknown_query_keys import unknown_keys

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_an_unknown_key_on_the_api_is_named(client: Client, vng: dict[str, str]):
    wrong = await client.get("/api/v1/meetings", params={"audiencegroup": "jeugdconsulent", "theme": "de-bedoeling"})
    assert wrong.status_code == 400, wrong.text
    assert wrong.headers["content-type"].startswith("application/problem+json")
    problem = wrong.json()
    assert problem["type"].endswith("/onbekende-query-parameter")
    assert [e["field"] for e in problem["errors"]] == ["audiencegroup"]
    assert "'audiencegroup'" in problem["detail"]
    assert "`audienceGroup`" in problem["detail"], "says which keys the operation knows"
    # With a key (own parameter, a dependency's, an old spelling) the operation reads, it answers as before.
    assert (await client.get("/api/v1/meetings", params={"audienceGroup": "jeugdconsulent"})).status_code == 200
    assert (await client.get("/api/v1/meetings", params={"audience_group": "jeugdconsulent"})).status_code == 200
    assert (await client.get("/api/v1/series", params={"limit": "5"}, headers=vng)).status_code == 200
    me = await client.get("/api/v1/me", params={"token": "lkp_nietgeldig"})
    assert me.status_code == 401, "?token= is the participant dependency's key: known"
    extra = await client.get("/api/v1/series", params={"limit": "5", "utm_source": "mail"}, headers=vng)
    assert extra.status_code == 400
    assert [e["field"] for e in extra.json()["errors"]] == ["utm_source"]


async def test_web_pages_ignore_keys_a_browser_or_newsletter_adds(client: Client):
    page = await client.get("/agenda", params={"utm_source": "nieuwsbrief", "fbclid": "x"})
    assert page.status_code == 200
    assert "Onbekende query-parameter" not in page.text


async def test_the_document_says_it(client: Client):
    document = (await client.get("/schema/openapi.json")).json()
    responses = document["paths"]["/api/v1/meetings"]["get"]["responses"]
    assert "onbekende query-parameter" in responses["400"]["description"].lower()


def test_unknown_keys_are_each_named_once_in_order():
    assert unknown_keys(b"b=1&a=2&b=3&limit=4&c", frozenset({"limit"})) == ["b", "a", "c"]
    assert unknown_keys(b"audience%47roup=x", frozenset({"audienceGroup"})) == []
