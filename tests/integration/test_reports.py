"""Funder reports against hand-counted figures (tests/report_seed.py), with the noise switched off so that every
figure can be checked; the perturbation itself is tested in test_reports_disclosure.py."""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from services.db import Connection
from services.settings import Settings
from tests.report_seed import Seed, seed
from tests.xlsx import read_xlsx

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/reports/attendance"

MEASURES = (
    "meetings_held", "seats_offered", "registrations", "attended", "no_shows", "no_show_rate",
    "unique_participants", "municipalities_reached", "municipalities_total", "participant_hours",
)  # fmt: skip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, report_noise=0)


@pytest.fixture
async def data(conn: Connection) -> Seed:
    return await seed(conn)


@pytest.fixture
async def aof(keys: Any) -> dict[str, str]:
    return await keys.headers("funder", "AOF")  # type: ignore[no-any-return]


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[m] for m in MEASURES)


def by_code(report: dict[str, Any], dim: str) -> dict[str | None, tuple[Any, ...]]:
    return {r["dimensions"][dim]: figures(r) for r in report["rows"]}


async def report(client: Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    answer = await client.get(URL, params={"year": "2026", **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


#                meetings seats regs came no-show rate unique mun. of  hours
TOTAL = (3, 45, 24, 23, 2, 8.3, 16, 4, 342, 62.0)
M1 = (1, 20, 10, 10, 1, 10.0, 10, 3, 342, 30.0)
M2 = (1, 10, 8, 7, 1, 12.5, 7, 2, 342, 14.0)
M3 = (1, 15, 6, 6, 0, 0.0, 6, 2, 342, 18.0)
M1_M2 = (2, 30, 18, 17, 2, 11.1, 11, 3, 342, 44.0)


async def test_total_and_each_meeting_dimension(client: Client, aof: dict[str, str], data: Seed):
    plain = await report(client, aof)
    assert plain["rows"] == []
    assert plain["subtotals"] == []
    assert figures(plain["total"]) == TOTAL
    # nine answers from 23 present; (46 + 26) / 9
    assert (plain["total"]["evaluation_response_rate"], plain["total"]["average_grade"]) == (39.1, 8.0)
    assert (plain["funder"], plain["period_from"], plain["period_to"], plain["k"]) == (
        "AOF",
        "2026-01-01",
        "2026-12-31",
        5,
    )
    month = await report(client, aof, groupBy="month")
    assert by_code(month, "month") == {"2026-01": M1, "2026-02": M2, "2026-04": M3}
    assert [r["labels"]["month"] for r in month["rows"]] == ["januari 2026", "februari 2026", "april 2026"]
    grades = [(r["evaluation_response_rate"], r["average_grade"]) for r in month["rows"]]
    assert grades == [(60.0, 7.7), (42.9, "<5"), (None, None)], "an average of three answers is not shown"
    assert figures(month["total"]) == TOTAL

    quarter = await report(client, aof, groupBy="quarter")
    assert by_code(quarter, "quarter") == {"2026-Q1": M1_M2, "2026-Q2": M3}
    assert quarter["rows"][0]["labels"]["quarter"] == "2026 K1"

    meeting = await report(client, aof, groupBy="meeting")
    assert by_code(meeting, "meeting") == {str(data.meetings[k]): v for k, v in (("M1", M1), ("M2", M2), ("M3", M3))}
    assert meeting["rows"][0]["labels"]["meeting"] == "M1 Intervisie (2026-01-15)"

    series = await report(client, aof, groupBy="series")
    assert by_code(series, "series") == {str(data.series): M1_M2, None: M3}
    assert [r["labels"]["series"] for r in series["rows"]] == ["Reeks S1", "Geen reeks"]

    theme = await report(client, aof, groupBy="theme")
    assert by_code(theme, "theme") == {"de-bedoeling": M1_M2, "vraagverheldering": M2, None: M3}
    assert figures(theme["total"]) == TOTAL, "a meeting with two themes counts once in the total"

    fmt = await report(client, aof, groupBy="format")
    assert by_code(fmt, "format") == {
        "intervisie": (2, 35, 16, 16, 1, 6.2, 15, 4, 342, 48.0),
        "casuistiekbespreking": M2,
    }

    organiser = await report(client, aof, groupBy="organiser")
    assert by_code(organiser, "organiser") == {"VNG": M1_M2, "AOF": (2, 25, 14, 13, 1, 7.1, 13, 4, 342, 32.0)}
    assert {r["labels"]["organiser"] for r in organiser["rows"]} == {
        "Vereniging van Nederlandse Gemeenten", "A&O fonds Gemeenten"}  # fmt: skip


async def test_person_dimensions_with_suppression(client: Client, aof: dict[str, str], data: Seed):
    group = await report(client, aof, groupBy="professional_group")
    assert by_code(group, "professional_group") == {
        "wmo-consulent": (3, None, 14, 14, 1, 7.1, 8, 2, 342, 36.0),
        "jeugdconsulent": (3, None, 10, 9, 1, 10.0, 8, 2, 342, 26.0),
    }
    assert figures(group["total"]) == TOTAL
    assert {r["average_grade"] for r in group["rows"]} == {None}, "answers carry no person"
    assert group["total"]["average_grade"] == 8.0

    # GM0599 (3 people) and GM0363 (1) are too small; together they hold fewer than 5, so the smallest other
    # cell (GM1992, 5 people) is hidden too and the total no longer gives either of them away.
    town = await report(client, aof, groupBy="municipality")
    rows = {r["dimensions"]["municipality"]: r for r in town["rows"]}
    assert figures(rows["GM0518"]) == (2, None, 13, 12, 1, 7.7, 7, 1, 1, 30.0)
    assert rows["GM0518"]["labels"]["municipality"] == "'s-Gravenhage"
    for code in ("GM0599", "GM0363"):
        assert rows[code]["suppressed"] == "primary"
        assert {rows[code][m] for m in ("registrations", "attended", "unique_participants", "participant_hours")} == {
            "<5"
        }
    assert rows["GM1992"]["suppressed"] == "secondary"
    assert rows["GM1992"]["attended"] == "x"
    assert figures(town["total"]) == TOTAL

    province = await report(client, aof, groupBy="province")
    rows = {r["dimensions"]["province"]: r for r in province["rows"]}
    assert rows["PV27"]["suppressed"] == "primary", "one person from Noord-Holland"
    assert rows["PV28"]["suppressed"] == "secondary", "else total minus Zuid-Holland is that person"
    assert rows["PV28"]["municipalities_total"] == 50
    assert rows["PV27"]["municipalities_total"] == 44

    region = await report(client, aof, groupBy="safety_region")
    rows = {r["dimensions"]["safety_region"]: r for r in region["rows"]}
    assert rows["VR13"]["suppressed"] == "primary"
    # VR15 and VR17 both hold 8 people: the tie is broken the same way every time
    assert (rows["VR15"]["suppressed"], rows["VR17"]["suppressed"]) == ("secondary", None)
    assert figures(rows["VR17"])[2:4] == (10, 9)


async def test_two_dimensions_hide_complements_in_rows_and_columns(client: Client, aof: dict[str, str], data: Seed):
    table = await report(client, aof, groupBy="month,professional_group")
    cells = {(r["dimensions"]["month"], r["dimensions"]["professional_group"]): r["suppressed"] for r in table["rows"]}
    assert cells == {
        ("2026-01", "wmo-consulent"): "secondary",  # hides R1..R3 beside it
        ("2026-01", "jeugdconsulent"): "primary",
        ("2026-02", "wmo-consulent"): "secondary",
        ("2026-02", "jeugdconsulent"): "primary",
        ("2026-04", "wmo-consulent"): "primary",
        ("2026-04", "jeugdconsulent"): "secondary",
    }
    subtotals = {tuple(r["dimensions"].items()): figures(r) for r in table["subtotals"]}
    assert subtotals[(("month", "2026-01"),)] == M1
    assert subtotals[(("professional_group", "jeugdconsulent"),)][2:4] == (10, 9)
    assert figures(table["total"]) == TOTAL

    both = await report(client, aof, groupBy="month,format")
    assert {(r["dimensions"]["month"], r["dimensions"]["format"]): figures(r) for r in both["rows"]} == {
        ("2026-01", "intervisie"): M1,
        ("2026-02", "casuistiekbespreking"): M2,
        ("2026-04", "intervisie"): M3,
    }
    assert len(both["subtotals"]) == 5


async def test_periods(client: Client, aof: dict[str, str], data: Seed):
    q1 = await report(client, aof, quarter="1")
    assert figures(q1["total"]) == M1_M2
    q2 = await report(client, aof, quarter="2", groupBy="month")
    assert by_code(q2, "month") == {"2026-04": M3}
    answer = await client.get(URL, params={"from": "2026-02-10", "to": "2026-04-19"}, headers=aof)
    assert figures(answer.json()["total"]) == M2, "from and to are inclusive local dates"
    nothing = await client.get(URL, params={"year": "2025"}, headers=aof)
    assert figures(nothing.json()["total"]) == (0, 0, 0, 0, 0, None, 0, 0, 342, 0.0)


async def test_csv_has_dutch_headers_bom_and_semicolons(client: Client, aof: dict[str, str], data: Seed):
    answer = await client.get(URL, params={"year": "2026", "groupBy": "month", "format": "csv"}, headers=aof)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"  # one charset (was two)
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Maand", "Maand (code)", "Bijeenkomsten", "Plaatsen", "Aanmeldingen"]
    assert rows[1][:9] == ["januari 2026", "2026-01", "1", "20", "10", "10", "1", "10,0", "10"]
    assert rows[-1][:4] == ["Totaal", "", "3", "45"]
    assert rows[-1][rows[0].index("Deelnemersuren")] == "62,0"
    by_accept = await client.get(URL, params={"year": "2026"}, headers={**aof, "Accept": "text/csv"})
    assert by_accept.content.startswith(b"\xef\xbb\xbf")

    town = await client.get(URL, params={"year": "2026", "groupBy": "municipality", "format": "csv"}, headers=aof)
    lines = {r[1]: r for r in csv.reader(io.StringIO(town.content.decode("utf-8-sig")), delimiter=";")}
    assert lines["GM0599"][4] == "<5"
    assert lines["GM1992"][4] == "x"
    assert lines["GM0599"][-1] == "minder dan 5 personen"


async def test_xlsx_is_a_typed_workbook(client: Client, aof: dict[str, str], data: Seed):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    answer = await client.get(URL, params={"year": "2026", "groupBy": "month"}, headers={**aof, "Accept": xlsx})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == xlsx
    book = read_xlsx(answer.content)
    assert list(book.sheets) == ["Rapport", "Toelichting"]
    sheet = book.sheets["Rapport"]
    assert sheet.frozen_rows == 1
    assert sheet.rows[0][:3] == ["Maand", "Maand (code)", "Bijeenkomsten"]
    assert sheet.rows[1][:7] == [book.date(2026, 1, 1), "2026-01", 1, 20, 10, 10, 1], "months are dates"
    assert sheet.rows[1][7] == 10.0
    assert sheet.rows[-1][:4] == ["Totaal", "", 3, 45]
    assert not book.formulas, "never a formula"
    notes = book.sheets["Toelichting"]
    assert any("<5" in str(c) for row in notes.rows for c in row)
    assert any(row and row[0] == "Deelnemersuren" for row in notes.rows)

    town = await client.get(URL, params={"year": "2026", "groupBy": "municipality", "format": "xlsx"}, headers=aof)
    rows = {r[1]: r for r in read_xlsx(town.content).sheets["Rapport"].rows[1:]}
    assert rows["GM0599"][4] == "<5"
    assert rows["GM0518"][4] == 13


async def test_a_title_that_looks_like_a_formula_stays_text(client: Client, aof: dict[str, str], data: Seed,
                                                            conn: Connection):  # fmt: skip
    await conn.execute("UPDATE meetings SET title = '=HYPERLINK(\"http://x\")' WHERE id = $1", data.meetings["M1"])
    answer = await client.get(URL, params={"year": "2026", "groupBy": "meeting", "format": "xlsx"}, headers=aof)
    book = read_xlsx(answer.content)
    assert not book.formulas
    assert any(str(r[0]).startswith("=HYPERLINK") for r in book.sheets["Rapport"].rows)
    text = await client.get(URL, params={"year": "2026", "groupBy": "meeting", "format": "csv"}, headers=aof)
    assert "'=HYPERLINK" in text.content.decode("utf-8-sig")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"groupBy": "postcode"}, "groupBy"),
        ({"groupBy": "month,theme,format"}, "groupBy"),
        ({"groupBy": "month,month"}, "groupBy"),
        ({"from": "2026-13-01", "to": "2026-12-31"}, "from"),
        ({"from": "2026-01-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-03-01", "year": "2026"}, "year"),
        ({"year": "20x6"}, "year"),
        ({"quarter": "2"}, "year"),
        ({"year": "2026", "quarter": "5"}, "quarter"),
        ({"format": "pdf"}, "format"),
        ({"municipalityAsOf": "gisteren"}, "municipalityAsOf"),
    ],
)
async def test_bad_parameters_name_the_field(client: Client, aof: dict[str, str], params: dict[str, str], field: str):
    answer = await client.get(URL, params=params, headers=aof)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == field


async def test_scope_a_funder_sees_only_what_it_funds(client: Client, aof: dict[str, str], keys: Any, data: Seed):
    bzk = await keys.headers("funder", "BZK")
    mine = await report(client, bzk, groupBy="meeting")
    assert [r["dimensions"]["meeting"] for r in mine["rows"]] == [str(data.meetings["M4"])]
    assert figures(mine["total"])[:4] == (1, 30, 7, 7)
    for params in ({"funder": "AOF"}, {"funder": "aof"}, {"funder": "AOF", "groupBy": "meeting"}):
        answer = await client.get(URL, params={"year": "2026", **params}, headers=bzk)
        assert answer.status_code == 403
        assert answer.json()["errors"][0]["field"] == "funder"
    own = await client.get(URL, params={"year": "2026", "funder": "BZK"}, headers=bzk)
    assert own.status_code == 200
    # every grouping of BZK's report holds only M4's people
    for dim in ("month", "theme", "organiser", "municipality", "series", "format"):
        answer = await report(client, bzk, groupBy=dim)
        assert figures(answer["total"])[:4] == (1, 30, 7, 7), dim
    organiser = await keys.headers("organiser", "VNG")
    assert (await client.get(URL, headers=organiser)).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_admin_names_a_funder_or_sees_all(client: Client, admin: dict[str, str], data: Seed):
    assert figures((await report(client, admin, funder="AOF"))["total"]) == TOTAL
    everything = await report(client, admin)
    assert figures(everything["total"])[:4] == (4, 75, 31, 30)
    assert everything["funder"] is None
    unknown = await client.get(URL, params={"funder": "NOPE"}, headers=admin)
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "funder")


async def test_meetings_not_yet_held_do_not_count(client: Client, aof: dict[str, str], data: Seed, conn: Connection):
    starts = await conn.fetchval("SELECT starts_at FROM meetings WHERE id = $1", data.meetings["M7"])
    day = starts.date().isoformat()
    answer = await client.get(URL, params={"from": day, "to": day}, headers=aof)
    assert figures(answer.json()["total"])[:3] == (0, 0, 0)


async def test_merged_municipalities_count_as_they_were_and_roll_up_to_today(
    client: Client, aof: dict[str, str], conn: Connection
):
    """Brielle and Hellevoetsluis merged into Voorne aan Zee on 1 January 2023, Weesp into Amsterdam on
    24 March 2022. People are recorded under the code of the day; today everyone's profile says GM1992."""
    from tests.report_seed import attend, meeting, register

    before = await meeting(conn, "Voor de fusie", "2022-06-01T10:00:00+02:00", 2)
    after = await meeting(conn, "Na de fusie", "2023-03-01T10:00:00+01:00", 2)
    weesp = await meeting(conn, "Weesp", "2021-10-01T10:00:00+02:00", 2)

    async def person(n: str, now: str) -> Any:
        return await conn.fetchval(
            "INSERT INTO participants (email, name, organisation_code) VALUES ($1, $1, $2) RETURNING id",
            f"{n}@example.nl", now,
        )  # fmt: skip

    async def came(meeting_id: Any, who: Any, recorded: str) -> None:
        reg = await register(conn, meeting_id, who)
        await conn.execute(
            "INSERT INTO attendance (meeting_id, participant_id, registration_id, status, method, organisation_code)"
            " VALUES ($1, $2, $3, 'attended', 'organiser', $4)",
            meeting_id, who, reg, recorded,
        )  # fmt: skip

    brielle = [await person(f"brielle{i}", "GM1992") for i in range(5)]
    hellevoet = [await person(f"hellevoet{i}", "GM1992") for i in range(5)]
    weespers = [await person(f"weesp{i}", "GM0363") for i in range(5)]
    for p in brielle:
        await came(before, p, "GM0501")
        await came(after, p, "GM1992")
    for p in hellevoet:
        await came(before, p, "GM0530")
    # recorded under the old code (a profile nobody updated), but the meeting was after the merger
    late = await person("laat", "GM1992")
    await came(after, late, "GM0530")
    for p in weespers:
        await came(weesp, p, "GM0457")
    # the snapshot is taken by the database itself when the row does not bring one
    fresh = await person("vers", "GM0518")
    await attend(conn, await meeting(conn, "Elders", "2023-03-02T10:00:00+01:00", 2, funders=["BZK"]), fresh)
    assert await conn.fetchval("SELECT organisation_code FROM attendance WHERE participant_id = $1", fresh) == "GM0518"

    then = await report(client, aof, groupBy="municipality", **{"year": "", "from": "2021-01-01", "to": "2023-12-31"})
    rows = {r["dimensions"]["municipality"]: r for r in then["rows"]}
    assert {c: (r["attended"], r["labels"]["municipality"]) for c, r in rows.items() if r["suppressed"] is None} == {
        "GM0501": (5, "Brielle"),
        "GM0530": (5, "Hellevoetsluis"),
        "GM1992": (6, "Voorne aan Zee"),  # five from Brielle and the late one
        "GM0457": (5, "Weesp"),
    }

    today = await report(client, aof, groupBy="municipality", municipalityAsOf="today",
                         **{"year": "", "from": "2021-01-01", "to": "2023-12-31"})  # fmt: skip
    rows = {r["dimensions"]["municipality"]: r for r in today["rows"]}
    assert (rows["GM1992"]["attended"], rows["GM1992"]["unique_participants"]) == (16, 11)
    assert (rows["GM0363"]["attended"], rows["GM0363"]["labels"]["municipality"]) == (5, "Amsterdam")
    assert set(rows) == {"GM1992", "GM0363"}
    assert today["municipality_as_of"] == "today"

    # reach "of how many" follows the division of the period's last day
    y2022 = await report(client, aof, **{"year": "2022"})
    assert y2022["total"]["municipalities_total"] == 344  # 342 + Brielle, Hellevoetsluis, Westvoorne − Voorne aan Zee
    assert y2022["total"]["municipalities_reached"] == 2
    y2021 = await report(client, aof, **{"year": "2021"})
    assert y2021["total"]["municipalities_total"] == 345  # and Weesp; earlier changes are not shipped
    province = await report(client, aof, groupBy="province", **{"year": "", "from": "2021-01-01", "to": "2023-12-31"})
    assert {r["dimensions"]["province"] for r in province["rows"]} == {"PV27", "PV28"}, "an old code has its province"


DIMS = ("month", "quarter", "meeting", "series", "theme", "format", "organiser", "municipality", "province",
        "safety_region", "professional_group")  # fmt: skip


async def test_every_grouping_gives_the_same_figures_in_every_format(client: Client, aof: dict[str, str], data: Seed):
    """The hand-counted JSON figures above, row for row in CSV and XLSX too (suppression marks included)."""
    for group in (*DIMS, "month,professional_group", "theme,organiser"):
        params = {"year": "2026", "groupBy": group}
        body = await report(client, aof, **params)
        expected = [
            [r[m] for m in ("registrations", "attended", "no_shows", "unique_participants")]
            for r in [*body["rows"], *body["subtotals"], body["total"]]
        ]
        width = 2 * len(group.split(","))  # label and code per dimension
        text = (await client.get(URL, params={**params, "format": "csv"}, headers=aof)).content.decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
        picked = [[line[width + 2], line[width + 3], line[width + 4], line[width + 6]] for line in lines]
        as_csv = [[c if c in ("<5", "x") else int(c) for c in row] for row in picked]
        assert as_csv == expected, group
        book = read_xlsx((await client.get(URL, params={**params, "format": "xlsx"}, headers=aof)).content)
        sheet = book.sheets["Rapport"].rows[1:]
        as_xlsx = [[row[width + 2], row[width + 3], row[width + 4], row[width + 6]] for row in sheet]
        assert as_xlsx == expected, group
