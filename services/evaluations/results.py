"""Evaluation results: per meeting, and over the meetings of a series or a theme; as JSON, CSV and XLSX.

Per meeting: invited, responded and, from MIN_RESPONSES answers on, average and distribution per question and the
open answers (sorted, not in the order given; never for funders). Over many meetings: only the meetings that show
their own results count towards the figures per question (EvaluationAggregate), the k-rule of the one-meeting
results applied per meeting, so no aggregate minus another reveals a meeting with fewer answers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import xlsxwriter

from schemas.auth import Principal
from schemas.evaluations import EvaluationAggregate, EvaluationResults, QuestionResult
from services.auth.guards import require_role
from services.db import Connection, required
from services.errors import Forbidden, NotFound
from services.evaluations.questionnaire import load
from services.evaluations.service import MIN_RESPONSES

_RANGE = {"grade": 10, "scale": 5}


async def results(
    conn: Connection, meeting_id: UUID, *, with_text: bool, now: datetime | None = None
) -> EvaluationResults:
    """Invited, responded and, from MIN_RESPONSES answers on, the figures per question. Open answers are sorted
    (not in the order given) and left out for funders (`with_text=False`)."""
    now = now or datetime.now(UTC)
    opened = await conn.fetchrow(
        "SELECT questionnaire, questions, closes_at FROM evaluations WHERE meeting_id = $1", meeting_id
    )
    counts = required(
        await conn.fetchrow(
            "SELECT count(*) AS invited, count(*) FILTER (WHERE answered) AS responded "
            "FROM evaluation_requests WHERE meeting_id = $1",
            meeting_id,
        )
    )
    invited, responded = int(counts["invited"]), int(counts["responded"])
    status = "not_open" if opened is None else "open" if opened["closes_at"] > now else "closed"
    out = EvaluationResults(
        meeting_id=str(meeting_id),
        status=status,
        invited=invited,
        responded=responded,
        response_rate=round(responded / invited, 3) if invited else 0.0,
        shown=responded >= MIN_RESPONSES,
        minimum=MIN_RESPONSES,
    )
    if not out.shown or opened is None:
        return out
    answers = [
        r["answers"]
        for r in await conn.fetch("SELECT answers FROM evaluation_responses WHERE meeting_id = $1", meeting_id)
    ]
    for q in load(opened["questions"], opened["questionnaire"]):
        given = [a[q.key] for a in answers if q.key in a]
        result = QuestionResult(key=q.key, kind=q.kind, text=q.text, answered=len(given))
        if q.kind in ("grade", "scale"):
            result.average = round(sum(given) / len(given), 2) if given else None
            top = 10 if q.kind == "grade" else 5
            result.distribution = {str(v): given.count(v) for v in range(1, top + 1)}
        elif q.kind == "choice":
            result.distribution = {value: given.count(value) for value, _ in q.options}
        elif q.kind == "choices":  # how many ticked each option (one answer may tick several)
            result.distribution = {value: sum(1 for g in given if value in g) for value, _ in q.options}
        elif q.kind == "consent":
            result.distribution = {"ja": sum(1 for g in given if g), "nee": sum(1 for g in given if not g)}
        elif with_text:  # an open answer past its retention is null (services/retention): counted, not shown
            result.answers = sorted(g for g in given if g is not None)
        out.questions.append(result)
    return out


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell that starts like a formula would run in Excel (CSV injection): make it plain text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_csv(results: EvaluationResults | EvaluationAggregate) -> str:
    """The results for Dutch Excel: semicolons, UTF-8 with a byte-order mark, formula-safe cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["vraag", "soort", "waarde", "aantal"])
    writer.writerow(["uitgenodigd", "", "", results.invited])
    writer.writerow(["geantwoord", "", "", results.responded])
    if isinstance(results, EvaluationAggregate):
        writer.writerow(["bijeenkomsten", "", "", results.meetings])
        writer.writerow([f"bijeenkomsten met minstens {results.minimum} antwoorden", "", "", results.meetings_counted])
    for q in results.questions:
        if q.average is not None:
            writer.writerow([_cell(q.text), q.kind, "gemiddelde", str(q.average).replace(".", ",")])
        for value, count in q.distribution.items():
            writer.writerow([_cell(q.text), q.kind, _cell(value), count])
        for answer in q.answers:
            writer.writerow([_cell(q.text), q.kind, _cell(answer), ""])
    return out.getvalue()


def merge(scope: str, key: str, title: str, parts: Sequence[EvaluationResults]) -> EvaluationAggregate:
    """Add up per-meeting results: counts over all of them, the figures per question over those shown only.
    Questions are matched by key, kind and text (two templates may use one key for different questions)."""
    counted = [p for p in parts if p.shown]
    invited, responded = sum(p.invited for p in parts), sum(p.responded for p in parts)
    merged: dict[tuple[str, str, str], QuestionResult] = {}
    for part in counted:
        for q in part.questions:
            into = merged.setdefault(
                (q.key, q.kind, q.text), QuestionResult(key=q.key, kind=q.kind, text=q.text, answered=0)
            )
            into.answered += q.answered
            for value, count in q.distribution.items():
                into.distribution[value] = into.distribution.get(value, 0) + count
            into.answers.extend(q.answers)
    for q in merged.values():
        q.answers.sort()
        if q.kind in _RANGE:
            total = sum(q.distribution.values())
            q.average = round(sum(int(v) * n for v, n in q.distribution.items()) / total, 2) if total else None
    return EvaluationAggregate(
        scope=scope, key=key, title=title, meetings=len(parts), meetings_counted=len(counted), invited=invited,
        responded=responded, response_rate=round(responded / invited, 3) if invited else 0.0, shown=bool(counted),
        minimum=MIN_RESPONSES, questions=list(merged.values()),
    )  # fmt: skip


async def aggregate(
    conn: Connection, scope: str, key: str, title: str, meeting_ids: Sequence[UUID], *, with_text: bool
) -> EvaluationAggregate:
    """The results over these meetings (those with an evaluation opened)."""
    opened = await conn.fetch(
        "SELECT meeting_id FROM evaluations WHERE meeting_id = ANY($1::uuid[]) ORDER BY meeting_id", list(meeting_ids)
    )
    parts = [await results(conn, r["meeting_id"], with_text=with_text) for r in opened]
    return merge(scope, key, title, parts)


def results_xlsx(results: EvaluationResults | EvaluationAggregate, title: str) -> bytes:
    """A workbook: the figures (typed numbers, frozen header), the open answers, and a sheet that explains the rule.
    Every text goes through write_string, so nothing from the answers can become a formula."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    bold = book.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1})
    decimal = book.add_format({"num_format": "0.00"})
    sheet = book.add_worksheet("Uitkomsten")
    sheet.freeze_panes(1, 0)
    for c, name in enumerate(("vraag", "soort", "waarde", "aantal", "gemiddelde")):
        sheet.write_string(0, c, name, bold)
    r = 1
    for label, number in (("uitgenodigd", results.invited), ("geantwoord", results.responded)):
        sheet.write_string(r, 0, label)
        sheet.write_number(r, 3, number)
        r += 1
    for q in results.questions:
        if q.average is not None:
            sheet.write_string(r, 0, q.text)
            sheet.write_string(r, 1, q.kind)
            sheet.write_string(r, 2, "gemiddelde")
            sheet.write_number(r, 4, q.average, decimal)
            r += 1
        for value, count in q.distribution.items():
            sheet.write_string(r, 0, q.text)
            sheet.write_string(r, 1, q.kind)
            sheet.write_string(r, 2, value)
            sheet.write_number(r, 3, count)
            r += 1
    sheet.set_column(0, 0, 60)
    texts = book.add_worksheet("Open antwoorden")
    texts.freeze_panes(1, 0)
    texts.write_string(0, 0, "vraag", bold)
    texts.write_string(0, 1, "antwoord", bold)
    r = 1
    for q in results.questions:
        for answer in q.answers:
            texts.write_string(r, 0, q.text)
            texts.write_string(r, 1, answer)
            r += 1
    texts.set_column(0, 1, 60)
    notes = book.add_worksheet("Toelichting")
    notes.write_string(0, 0, title, bold)
    for n, line in enumerate(
        (
            f"Uitkomsten per vraag alleen van bijeenkomsten met minstens {MIN_RESPONSES} antwoorden, zodat niemands "
            "antwoord herkenbaar is.",
            "De antwoorden zijn anoniem opgeslagen: los van de namen, zonder tijdstip; open antwoorden staan op "
            "alfabet, niet in de volgorde waarin ze gegeven zijn.",
        ),
        start=2,
    ):
        notes.write_string(n, 0, line)
    notes.set_column(0, 0, 110)
    book.close()
    return out.getvalue()


async def results_for(conn: Connection, principal: Principal, meeting_id: UUID) -> EvaluationResults:
    """The results as `principal` may see them (the API and the organiser's page): funders without the open answers.
    Raises NotFound (unknown, someone's draft, not funded by this funder), Forbidden (another organiser's)."""
    require_role(principal, "admin", "organiser", "funder")
    row = await conn.fetchrow("SELECT organiser_codes, funder_codes, status FROM meetings WHERE id = $1", meeting_id)
    if row is None or (row["status"] == "draft" and not principal.is_admin):
        raise NotFound("Deze bijeenkomst bestaat niet")
    code = principal.organisation_code
    if principal.role == "funder":
        if code not in row["funder_codes"]:
            raise NotFound("Deze bijeenkomst bestaat niet")
        return await results(conn, meeting_id, with_text=False)
    if not principal.is_admin and code not in row["organiser_codes"]:
        raise Forbidden("Alleen de organiserende organisaties zien de evaluatie van deze bijeenkomst")
    return await results(conn, meeting_id, with_text=True)
