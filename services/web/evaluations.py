"""/evaluatie/{request}/{token}: the anonymous evaluation form, no sign-in (the signed link is the key).

GET shows the form (or says it was answered already, or has closed); POST checks every answer and stores them
all or nothing (services/evaluations/service.py submit). Works on a phone: one column, large targets, plain
radio buttons and text areas.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from services.dates import moment
from services.db import Conn, Connection
from services.evaluations import links
from services.evaluations import service as evaluations
from services.evaluations.questionnaire import MAX_TEXT, Question
from services.web import forms, language, session
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.render import PAGE_ERRORS, message, page, summary

# The questionnaire's own messages (services/evaluations/questionnaire.py), marked here for their English; one with
# a value in it other than these ranges ("hoogstens 2000 tekens (nu 2100)") stays Dutch.
_MESSAGES = (
    N_("Kies uit de mogelijkheden"),
    N_("Kies er minstens een"),
    N_("Beantwoord deze vraag"),
    N_("Kies een van de mogelijkheden"),
    N_("Kies een getal van 1 tot en met 10"),
    N_("Kies een getal van 1 tot en met 5"),
    N_("Gebruik alleen gewone tekst, zonder stuurtekens"),
)
_GRADES = [(str(n), str(n)) for n in range(1, 11)]
_SCALE = [(str(n), str(n)) for n in range(1, 6)]


def _invalid() -> Template:
    return message(_("Link ongeldig"), _("Deze link klopt niet. Gebruik de link uit je mail."), status=404)


def _answered(title: str) -> Template:
    return message(
        _("Al ingevuld"), _("Je hebt deze evaluatie al ingestuurd. Bedankt!"), meeting_title=title, status=409
    )


def _closed(title: str) -> Template:
    return message(
        _("Evaluatie gesloten"),
        _("Deze evaluatie is gesloten; er kan niet meer worden geantwoord."),
        meeting_title=title,
        status=410,
    )


def _translated(q: Question) -> Question:
    """A question in the page's language: the built-in questionnaire has English in the catalog, an organiser's own
    questions stay as written."""
    return msgspec.structs.replace(
        q,
        text=_(q.text),
        low=_(q.low) if q.low else "",
        high=_(q.high) if q.high else "",
        options=tuple((value, _(label)) for value, label in q.options),
    )


def _form(found: evaluations.Form, *, values: Mapping[str, str | list[str]], errors: dict[str, str]) -> Template:
    errors = {key: _(text) for key, text in errors.items()}
    return page(
        "evaluation.html",
        status=422 if errors else 200,
        title=_("Evaluatie"),
        meeting_title=found.title,
        closes=moment(found.closes_at, found.timezone, locale()),
        questions=[_translated(q) for q in found.questions],
        values=values,
        grades=_GRADES,
        scale=_SCALE,
        max_text=MAX_TEXT,
        errors=errors,
        error_list=summary(errors),
    )


async def _follow_reader(conn: Connection, request: Request[Any, Any, Any], request_id: UUID) -> None:
    """The form in the language of the mail that asked (the answers stay apart from the person, as ever)."""
    theirs = await conn.fetchval(
        "SELECT p.locale FROM evaluation_requests r JOIN participants p ON p.id = r.participant_id WHERE r.id = $1",
        request_id,
    )
    language.follow_reader(request, theirs)


class EvaluationPageController(Controller):
    path = links.FORM_PATH
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{request_id:uuid}/{token:str}")
    async def show(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        request_id: FromPath[UUID],
        token: FromPath[str],
    ) -> Template:
        if not links.verify(state.settings.secret_key, request_id, token):
            return _invalid()
        await _follow_reader(conn, request, request_id)
        found = await evaluations.form(conn, request_id)
        if found is None:
            return _invalid()
        if found.answered:
            return _answered(found.title)
        if found.closes_at <= datetime.now(UTC):
            return _closed(found.title)
        return _form(found, values={}, errors={})

    @post("/{request_id:uuid}/{token:str}", status_code=200)
    async def answer(
        self,
        conn: Conn,
        state: State,
        request: Request[Any, Any, Any],
        request_id: FromPath[UUID],
        token: FromPath[str],
    ) -> Template:
        session.same_site(request, state.settings)
        if not links.verify(state.settings.secret_key, request_id, token):
            return _invalid()
        await _follow_reader(conn, request, request_id)
        values = await forms.read(request)
        found = await evaluations.form(conn, request_id)
        # A multiple-choice question posts its key once per ticked box: take them all (forms.read keeps one).
        posted = await request.form()
        answers: dict[str, str | list[str]] = dict(values)
        for q in found.questions if found is not None else ():
            if q.kind == "choices":
                answers[q.key] = [str(v)[: forms.MAX_FIELD] for v in posted.getall(q.key, []) if isinstance(v, str)]
        outcome = await evaluations.submit(conn, request_id, answers)
        if outcome.state == "unknown" or outcome.form is None:
            return _invalid()
        if outcome.state == "already":
            return _answered(outcome.form.title)
        if outcome.state == "closed":
            return _closed(outcome.form.title)
        if outcome.state == "invalid":
            return _form(outcome.form, values=answers, errors=outcome.errors)
        return message(
            _("Bedankt!"),
            _("Je antwoorden zijn opgeslagen, los van je naam."),
            _("Wat je invult helpt de organisator de volgende bijeenkomsten beter te maken."),
            meeting_title=outcome.form.title,
        )
