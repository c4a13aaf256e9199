"""State that stays true: a person moved up from the waiting list carries no waiting-list number anywhere."""

from __future__ import annotations

import csv
import io

from services.db import Connection
from tests.api import Client, published, register, token_for


async def test_a_promoted_person_has_no_waiting_list_number_in_any_answer(
    client: Client, vng: dict[str, str], conn: Connection
) -> None:
    meeting = await published(client, vng, capacity=1)
    mid = meeting["id"]
    first = (await register(client, mid, 1, **vng)).json()
    second = (await register(client, mid, 2, **vng)).json()
    assert (first["status"], second["status"], second["position"]) == ("confirmed", "waitlisted", 1)
    cancelled = await client.post(f"/api/v1/registrations/{first['id']}/cancel", headers=vng)
    assert cancelled.status_code == 200, cancelled.text

    promoted = (await client.get(f"/api/v1/registrations/{second['id']}", headers=vng)).json()
    assert (promoted["status"], promoted["position"], promoted["waitlist_rank"]) == ("confirmed", None, None)
    listed = (await client.get(f"/api/v1/meetings/{mid}/registrations", headers=vng)).json()["items"]
    assert [(r["status"], r["position"]) for r in listed] == [("cancelled", None), ("confirmed", None)]
    exported = await client.get(f"/api/v1/meetings/{mid}/registrations.csv", headers=vng)
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
    assert [(r["status"], r["wachtlijstnummer"], r["plaats_op_wachtlijst"]) for r in rows] == [
        ("cancelled", "", ""),
        ("confirmed", "", ""),
    ]
    mine = await client.get("/api/v1/me/registrations", headers=await token_for(conn, second["participant_id"]))
    assert [(r["status"], r["position"]) for r in mine.json()["items"]] == [("confirmed", None)]
