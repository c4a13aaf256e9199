"""The API documentation works offline, and the OpenAPI document lists the problem answers each operation gives."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from services.settings import Settings

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_the_docs_page_loads_only_files_served_by_leerkring(client: Client):
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert references, page.text
    assert not [r for r in references if "//" in r], "no CDN, no web fonts"
    for reference in references:
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 100
    assert (await client.get("/static/docs/../../settings.py")).status_code == 404


async def test_every_operation_documents_its_errors_as_problem_json(client: Client):
    document = (await client.get("/schema/openapi.json")).json()
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 40
    for method, path, operation in operations:
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        assert {"500", "503"} <= set(errors), (method, path)
        for status, response in errors.items():
            assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            assert response["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert any(s[0] == "2" for s in operation["responses"]), (method, path)
    register = document["paths"]["/api/v1/meetings/{meeting_id}/registrations"]["post"]["responses"]
    assert {"422", "404", "409", "429"} <= set(register)


async def test_the_document_says_who_may_call_each_operation(client: Client):
    document = (await client.get("/schema/openapi.json")).json()
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "persoonlijkeLink"}
    paths = document["paths"]
    assert paths["/api/v1/themes"]["get"]["security"] == [{}], "public: no key needed"
    assert {} in paths["/api/v1/meetings"]["get"]["security"], "public, more with a key"
    assert paths["/api/v1/me"]["get"]["security"] == [{"persoonlijkeLink": []}]
    anonymous_door = paths["/api/v1/meetings/{meeting_id}/registrations"]["post"]["security"]
    assert anonymous_door == [{}, {"apiKey": []}, {"persoonlijkeLink": []}]
    assert "security" not in paths["/api/v1/meetings"]["post"], "the document's default: an API key"
    assert document["security"] == [{"apiKey": []}]


async def test_the_document_names_a_contact_and_the_server(client: Client, settings: Settings):
    """NLGov API Design Rules that are no API break: info.contact (name, url, email) and `servers`."""
    document = (await client.get("/schema/openapi.json")).json()
    contact = document["info"]["contact"]
    assert contact["name"] == "Leerkring"
    assert contact["url"] == settings.base_url
    assert "@" in contact["email"]
    assert document["servers"] == [{"url": settings.base_url, "description": "Leerkring (API v1 onder /api/v1)"}]
    assert all(path.startswith(("/api/v1/", "/feeds/")) for path in document["paths"]), "major version in the URI"
