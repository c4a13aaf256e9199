"""Organisations, reference data, the managed lists and the CSV import."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from services.db import Connection
from services.organisations.importer import import_organisations_csv, import_reference_data

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_reference_data_has_all_342_municipalities(conn: Connection):
    assert await conn.fetchval("SELECT count(*) FROM organisations WHERE kind = 'municipality'") == 342
    assert await conn.fetchval("SELECT count(*) FROM provinces") == 12
    assert await conn.fetchval("SELECT count(*) FROM safety_regions") == 25
    den_haag = await conn.fetchrow("SELECT * FROM organisations WHERE code = 'GM0518'")
    assert (den_haag["name"], den_haag["province_code"], den_haag["safety_region_code"]) == (
        "'s-Gravenhage",
        "PV28",
        "VR15",
    )
    assert {r["code"] for r in await conn.fetch("SELECT code FROM organisations WHERE kind <> 'municipality'")} == {
        "VNG",
        "BZK",
        "AOF",
    }


async def test_reimport_is_idempotent(conn: Connection):
    again = await import_reference_data(conn)
    assert (again.created, again.updated) == (0, 0)
    assert again.unchanged == 345


async def test_csv_import_all_or_nothing(conn: Connection):
    good = "code,name,kind,province_code\nREG-NOORD,Regio Noord,region,PV20\n"
    result = await import_organisations_csv(conn, good)
    assert (result.created, result.errors) == (1, [])
    bad = "code,name,kind\nREG-ZUID,Regio Zuid,region\nREG-X,,region\nREG-Y,Y,club\n"
    result = await import_organisations_csv(conn, bad)
    assert result.errors == ["regel 3: code en naam zijn verplicht", "regel 4: onbekende soort 'club'"]
    assert await conn.fetchval("SELECT count(*) FROM organisations WHERE code = 'REG-ZUID'") == 0


async def test_list_and_filter(client: Client):
    page = (await client.get("/api/v1/organisations", params={"kind": "municipality", "limit": 200})).json()
    assert len(page["items"]) == 200
    rest = (
        await client.get(
            "/api/v1/organisations", params={"kind": "municipality", "cursor": page["next_cursor"], "limit": 200}
        )
    ).json()
    assert len(rest["items"]) == 142
    assert rest["next_cursor"] is None
    codes = [o["code"] for o in page["items"] + rest["items"]]
    assert len(set(codes)) == 342
    found = (await client.get("/api/v1/organisations", params={"q": "utrecht"})).json()["items"]
    assert {o["code"] for o in found} == {"GM0344", "GM1581"}  # Utrecht, Utrechtse Heuvelrug
    assert (await client.get("/api/v1/organisations/gm0344")).json()["name"] == "Utrecht"


async def test_create_region_admin_only(client: Client, admin: dict[str, str], vng: dict[str, str]):
    body: dict[str, Any] = {"code": "REG-TWENTE", "name": "Regio Twente", "kind": "region", "member_codes": ["GM0153"]}
    assert (await client.post("/api/v1/organisations", json=body, headers=vng)).status_code == 403
    created = await client.post("/api/v1/organisations", json=body, headers=admin)
    assert created.status_code == 201
    assert created.json()["member_codes"] == ["GM0153"]
    again = await client.post("/api/v1/organisations", json=body, headers=admin)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "code"
    unknown = await client.post(
        "/api/v1/organisations", json={**body, "code": "REG-X", "member_codes": ["GM9999"]}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "member_codes"


async def test_csv_upload_endpoint(client: Client, admin: dict[str, str], conn: Connection):
    files = {"data": ("org.csv", b"code,name,kind\nREG-A,Regio A,region\n", "text/csv")}
    response = await client.post("/api/v1/organisations/import", files=files, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    broken = {"data": ("org.csv", b"code,name,kind\nREG-B,Regio B,nope\n", "text/csv")}
    response = await client.post("/api/v1/organisations/import", files=broken, headers=admin)
    assert response.status_code == 422
    assert "regel 2" in response.json()["detail"]


async def test_an_upload_without_a_file_is_a_field_error(client: Client, admin: dict[str, str]):
    url = "/api/v1/organisations/import"
    cases = [
        ({"other": ("x.csv", b"code,name,kind\n", "text/csv")}, None, "data"),  # no field `data`
        ({"bijlage": ("x.txt", b"x", "text/plain")}, {"data": "code,name,kind"}, None),  # text where the file belongs
        ({"data": ("leeg.csv", b"", "text/csv")}, None, "data"),
    ]
    for files, form, field in cases:
        response = await client.post(url, files=files, data=form, headers=admin)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        if field is not None:
            assert response.json()["errors"][0]["field"] == field


async def test_managed_lists(client: Client, admin: dict[str, str], vng: dict[str, str]):
    themes = (await client.get("/api/v1/themes")).json()
    assert "de-bedoeling" in [t["slug"] for t in themes]
    body = {"slug": "armoede", "name": "Armoede"}
    assert (await client.put("/api/v1/themes", json=body, headers=vng)).status_code == 403
    assert (await client.put("/api/v1/themes", json=body, headers=admin)).json() == {**body, "active": True}
    off = await client.put(
        "/api/v1/professional-groups", json={"slug": "hr-adviseur", "name": "HR", "active": False}, headers=admin
    )
    assert off.json()["active"] is False
    # A deactivated group can no longer be chosen as an audience.
    from tests.factories import meeting_body

    response = await client.post(
        "/api/v1/meetings", json=meeting_body(audience={"groups": ["hr-adviseur"]}), headers=vng
    )
    assert response.status_code == 422
