"""Disclosure control as an attacker meets it: differencing overlapping reports, asking again, and scanning every
response a funder key can get for anything personal. Noise is on here, as in production."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from services.db import Connection
from tests.report_seed import attend, email, meeting, name, register, seed
from tests.xlsx import read_xlsx

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/reports/attendance"


@pytest.fixture
async def aof(keys: Any) -> dict[str, str]:
    return await keys.headers("funder", "AOF")  # type: ignore[no-any-return]


async def _people(conn: Connection, prefix: str, count: int, org: str) -> list[UUID]:
    return [
        await conn.fetchval(
            "INSERT INTO participants (email, name, organisation_code, professional_group) "
            "VALUES ($1, $2, $3, 'wmo-consulent') RETURNING id",
            f"{prefix}{i}@example.nl",
            f"{prefix} {i}",
            org,
        )
        for i in range(count)
    ]


async def test_differencing_two_overlapping_periods_does_not_reveal_the_one_person(
    client: Client, aof: dict[str, str], conn: Connection
):
    """Seven people from 's-Gravenhage came on 15 January; on 16 January one more came. Asking 1–15 January and
    1–16 January and subtracting would, without noise, say exactly that one person from 's-Gravenhage came on the
    16th (a cell of 1 that the report itself never shows). With cell-key noise the difference is not the truth,
    and the attacker cannot tell from the published figures what the truth was."""
    first = await meeting(conn, "Eerste", "2026-01-15T10:00:00+01:00", 2)
    second = await meeting(conn, "Tweede", "2026-01-16T10:00:00+01:00", 2)
    seven = await _people(conn, "haag", 7, "GM0518")
    lone = (await _people(conn, "alleen", 1, "GM0518"))[0]
    others = await _people(conn, "rdam", 6, "GM0599")
    for p in seven:
        await attend(conn, first, p, registration=await register(conn, first, p))
    for p in [lone, *others]:
        await attend(conn, second, p, registration=await register(conn, second, p))

    async def attended(to: str) -> Any:
        answer = await client.get(URL, params={"from": "2026-01-01", "to": to, "groupBy": "municipality"}, headers=aof)
        rows = {r["dimensions"]["municipality"]: r for r in answer.json()["rows"]}
        return rows["GM0518"]["attended"]

    differences = []
    for _ in range(40):
        # a fresh draw of every person's secret key: another deployment, or the same one on another day
        await conn.execute("UPDATE participants SET report_key = floor(random() * 2147483647)::integer")
        before, after = await attended("2026-01-15"), await attended("2026-01-16")
        assert isinstance(before, int)
        assert isinstance(after, int)
        assert abs(before - 7) <= 2
        assert abs(after - 8) <= 2
        assert await attended("2026-01-16") == after, "asking again gives the same figure: nothing to average"
        differences.append(after - before)
    # The attack would need the difference to be 1 every time; it is 1 only about a third of the time, and the
    # same published difference arises from different truths, so a single pair of reports proves nothing.
    assert differences.count(1) < len(differences) * 0.6
    assert len(set(differences)) >= 3


async def test_differencing_a_suppressed_cell_through_a_wider_area(client: Client, aof: dict[str, str],
                                                                    conn: Connection):  # fmt: skip
    """Rotterdam's 3 people show "<5" by municipality (and Amsterdam's 5 are hidden beside them, so the total does
    not give them away); the safety region VR17 holds Rotterdam and Voorne aan Zee (6 people, shown). Region
    minus Voorne aan Zee would give Rotterdam back exactly, but both are perturbed: the
    difference is Rotterdam's count plus unknown noise, so never a reliable small count."""
    m = await meeting(conn, "Regio", "2026-03-03T10:00:00+01:00", 2)
    for p in [*await _people(conn, "rdam", 3, "GM0599"), *await _people(conn, "voorne", 6, "GM1992"),
              *await _people(conn, "haag", 9, "GM0518"), *await _people(conn, "adam", 5, "GM0363")]:  # fmt: skip
        await attend(conn, m, p, registration=await register(conn, m, p))
    guesses = set()
    for _ in range(30):
        await conn.execute("UPDATE participants SET report_key = floor(random() * 2147483647)::integer")
        town = (await client.get(URL, params={"year": "2026", "groupBy": "municipality"}, headers=aof)).json()
        region = (await client.get(URL, params={"year": "2026", "groupBy": "safety_region"}, headers=aof)).json()
        towns = {r["dimensions"]["municipality"]: r for r in town["rows"]}
        regions = {r["dimensions"]["safety_region"]: r for r in region["rows"]}
        assert towns["GM0599"]["attended"] == "<5"
        assert towns["GM0363"]["attended"] == "x"
        if isinstance(regions["VR17"]["attended"], int) and isinstance(towns["GM1992"]["attended"], int):
            guesses.add(regions["VR17"]["attended"] - towns["GM1992"]["attended"])
    assert len(guesses) >= 3, f"the attacker's estimate of Rotterdam wanders: {sorted(guesses)}"


def _texts(answer: Any) -> str:
    body: bytes = answer.content
    text = " ".join(f"{k}: {v}" for k, v in answer.headers.items())
    if body.startswith(b"PK"):
        return text + read_xlsx(body).text
    return text + body.decode("utf-8", "replace")


async def test_no_response_a_funder_can_get_holds_anything_personal(
    client: Client, aof: dict[str, str], conn: Connection
):
    data = await seed(conn)
    secrets = [str(p) for p in data.people.values()]
    secrets += [email(p) for p in data.people] + [name(p) for p in data.people]
    secrets += [str(r["id"]) for r in await conn.fetch("SELECT id FROM registrations")]
    secrets.append("Vrije tekst van een deelnemer")  # an open evaluation answer
    dims = ["", "month", "quarter", "meeting", "series", "theme", "format", "municipality", "province",
            "safety_region", "professional_group", "organiser"]  # fmt: skip
    requests: list[dict[str, str]] = []
    for group in [*dims, *(",".join(pair) for pair in itertools.combinations(dims[1:], 2))]:
        for fmt in ("json", "csv", "xlsx"):
            requests.append({"year": "2026", "groupBy": group, "format": fmt})
    requests += [{"year": "2026", "groupBy": "municipality", "municipalityAsOf": "today", "format": f}
                 for f in ("json", "csv", "xlsx")]  # fmt: skip
    # errors, including ones that echo what was sent
    requests += [
        {"groupBy": str(data.people["D1"])}, {"funder": "BZK"}, {"from": email("D1")}, {"format": name("D1")[:10]},
        {"year": "2026", "quarter": "9"}, {"municipalityAsOf": str(data.people["D1"])[:10]},
    ]  # fmt: skip
    seen = 0
    for params in requests:
        answer = await client.get(URL, params=params, headers=aof)
        assert answer.status_code in (200, 403, 422), (params, answer.status_code)
        text = _texts(answer)
        for secret in secrets:
            assert secret.lower() not in text.lower(), (params, secret)
        seen += 1
    unauthenticated = await client.get(URL, params={"groupBy": "meeting"})
    assert all(s not in _texts(unauthenticated) for s in secrets)
    assert seen > 200
