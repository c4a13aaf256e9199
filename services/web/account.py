"""Signing in without a password, and the participant's own page (/mijn).

GET  /inloggen                 the form: an e-mail address gets a single-use sign-in link
POST /inloggen                 the same answer for known and unknown addresses
GET  /inloggen/{token}         what the link will do, with a button (a GET never spends it: mail scanners)
POST /inloggen/{token}         spend it: the browser gets a session (a fresh manage token in a cookie)
GET  /mijn?token=...           a manage link from a mail: the session, then the same page without the token
GET  /mijn                     my meetings, my feed links, my profile, my data, delete me
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from schemas.feeds import FeedLinks
from services import ratelimit
from services.attendance import checkin
from services.dates import format_when, moment
from services.db import Conn, Connection
from services.errors import DomainError, InvalidInput, TooManyRequests
from services.feeds import links as feed_links
from services.feeds.personal import PERSONAL_NAME
from services.feeds.service import PUBLIC
from services.me import service as me
from services.participants import queries as participants
from services.participants import service as participant_service
from services.participants import suppression, tokens
from services.participants.auth import ParticipantActor
from services.reminders import service as reminders
from services.settings import Settings
from services.web import choices, forms, i18n, language, session
from services.web.i18n import N_, locale
from services.web.i18n import gettext as _
from services.web.render import HEADERS, field_errors, message, page, refusal, summary

NextParam = Annotated[str | None, QueryParameter(name="verder", max_length=300)]
TokenParam = Annotated[str | None, QueryParameter(name="token", max_length=200)]

_STATUS = {
    "confirmed": N_("Je bent ingeschreven."),
    "offered": N_("Er is een plek voor je vrij; kijk op de pagina van de bijeenkomst of in je mail."),
    "cancelled": N_("Afgemeld."),
    "declined": N_("Afgemeld."),
}


def _signin_failed(state_: str | None) -> Template:
    if state_ == "expired":
        lines = (
            _("Deze link is verlopen: een inloglink werkt maar een paar uur."),
            _("Vraag hieronder een nieuwe aan."),
        )
        return message(_("Link verlopen"), *lines, status=410, signin_form=True)
    if state_ == "used":
        lines = (_("Deze link is al gebruikt: een inloglink werkt één keer."), _("Vraag hieronder een nieuwe aan."))
        return message(_("Link al gebruikt"), *lines, status=410, signin_form=True)
    return message(
        _("Link onbekend"), _("Deze link kennen we niet. Vraag hieronder een nieuwe aan."), status=404, signin_form=True
    )


async def sign_in_cookie(conn: Connection, settings: Settings, participant_id: Any) -> Cookie:
    """A session for this browser: a fresh manage token, valid as long as a manage link from a mail."""
    expires_at = datetime.now(UTC) + timedelta(days=settings.manage_link_days)
    token = await tokens.issue(conn, participant_id, "manage", expires_at=expires_at)
    return session.cookie(settings, token, expires_at)


async def _sign_in(
    conn: Connection, settings: Settings, request: Request[Any, Any, Any], participant_id: Any, target: str
) -> Redirect:
    cookie = await sign_in_cookie(conn, settings, participant_id)
    theirs = await conn.fetchval("SELECT locale FROM participants WHERE id = $1", participant_id)
    cookies = [cookie, *language.first_visit(request, settings, theirs)]
    return Redirect(target, status_code=303, cookies=cookies, headers=HEADERS)


async def _registrations(conn: Connection, participant_id: Any) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT r.id, r.meeting_id, r.status, r.position, r.reminders_off,
               m.title, m.starts_at, m.ends_at, m.timezone, m.status AS m_status,
               CASE WHEN r.status = 'waitlisted' THEN (
                   SELECT count(*) FROM registrations w
                   WHERE w.meeting_id = r.meeting_id AND w.status = 'waitlisted' AND w.position <= r.position
               ) END AS rank
        FROM registrations r JOIN meetings m ON m.id = r.meeting_id
        WHERE r.participant_id = $1 AND (r.status IN ('confirmed', 'waitlisted', 'offered') OR m.ends_at > now())
        ORDER BY m.starts_at
        """,
        participant_id,
    )
    now = datetime.now(UTC)
    items = []
    for r in rows:
        opens, closes = checkin.window(r["starts_at"], r["ends_at"])
        text = (
            _("Op de wachtlijst, plaats %(rank)s.") % {"rank": r["rank"]}
            if r["status"] == "waitlisted"
            else _(_STATUS[r["status"]])
        )
        if r["m_status"] == "cancelled":
            text = _("Deze bijeenkomst is geannuleerd.")
        items.append(
            {
                "meeting_id": r["meeting_id"],
                "title": r["title"],
                "when": format_when(r["starts_at"], r["ends_at"], r["timezone"], locale()),
                "status_text": text,
                "checkin": r["status"] in ("confirmed", "offered") and opens <= now < closes,
                # Reminders can be switched for a confirmed place in a meeting still to come.
                "registration_id": r["id"],
                "reminders": r["status"] == "confirmed" and r["m_status"] == "published" and r["starts_at"] > now,
                "reminders_off": r["reminders_off"],
                # The same rule as my_cancel._CANCELLABLE: an active place in a meeting not yet over.
                "cancel": r["status"] in ("confirmed", "waitlisted", "offered")
                and r["m_status"] == "published"
                and r["ends_at"] > now,
            }
        )
    return items


async def manage_page(
    conn: Connection,
    settings: Settings,
    visitor: ParticipantActor,
    *,
    status: int = 200,
    notice: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    person = await participant_service.me(conn, visitor.participant_id)
    feed = await tokens.feed_token(conn, settings.secret_key, visitor.participant_id)
    profile = forms.profile_values(form) if form is not None else msgspec.structs.asdict(person)
    errors = errors or {}
    return page(
        "manage.html",
        status=status,
        back_path="/mijn",
        title=_("Mijn bijeenkomsten"),
        signed_in=True,
        notice=notice,
        participant=person,
        registrations=await _registrations(conn, visitor.participant_id),
        reminders_off=await conn.fetchval(
            "SELECT reminders_off FROM participants WHERE id = $1", visitor.participant_id
        ),
        feed_alarm=await conn.fetchval(
            "SELECT feed_alarm_minutes FROM participants WHERE id = $1", visitor.participant_id
        ),
        alarm_choices=[(minutes, _(label)) for minutes, label in _ALARMS],
        feed=in_language(feed_links.personal_links(settings.base_url, feed, PERSONAL_NAME, with_group=False)),
        public_feed=in_language(feed_links.shared_links(settings.base_url, PUBLIC)),
        profile=profile,
        mail_locale=i18n.parse((form or {}).get("locale") or person.locale),
        choices=await choices.load(conn),
        errors=errors,
        error_list=summary(errors),
    )


def in_language(links: FeedLinks) -> FeedLinks:
    """The feed's Dutch description and window in the page's language (i18n.shown_constants lists them)."""
    return msgspec.structs.replace(links, description=_(links.description), window=_(links.window))


# The alarm choices for the personal feed (services/feeds/personal.py ALARM_CHOICES), as the page says them.
_ALARMS = ((15, N_("een kwartier")), (60, N_("een uur")), (1440, N_("een dag")))


class SignInController(Controller):
    path = "/inloggen"
    include_in_schema = False

    @get("/")
    async def form(self) -> Template:
        return page("signin.html", title=_("Inloggen"), email="")

    @post("/", status_code=202)
    async def ask(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        session.same_site(request, state.settings)
        form = await forms.read(request)
        email = form.get("email", "")
        if "@" not in email or len(email) > 254:
            errors = {"email": _("Vul een geldig e-mailadres in")}
            return page(
                "signin.html", status=422, title=_("Inloggen"), email=email, errors=errors, error_list=summary(errors)
            )
        try:
            await ratelimit.for_request(request, ratelimit.MAIL)
        except TooManyRequests as exc:
            return refusal(exc)
        answer = await participant_service.request_signin(conn, email, next_path=session.safe_next(form.get("next")))
        return message(_("Kijk in je mail"), _(answer.detail), status=202)

    @get("/{token:str}")
    async def show(self, conn: Conn, token: FromPath[str], verder: NextParam = None) -> Template:
        found = await tokens.state(conn, token, "signin")
        if found != "valid":
            return _signin_failed(found)
        return message(_("Inloggen"), _("Met de knop open je je persoonlijke pagina."), button=_("Open mijn pagina"))

    @post("/{token:str}", status_code=303)
    async def use(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: FromPath[str], verder: NextParam = None
    ) -> Response[Any]:
        session.same_site(request, state.settings)
        participant_id = await tokens.consume(conn, token, "signin")
        if participant_id is None:
            return _signin_failed(await tokens.state(conn, token, "signin"))
        await participants.prove(conn, participant_id)
        await suppression.came_back(conn, state.settings.secret_key, participant_id)
        return await _sign_in(conn, state.settings, request, participant_id, session.safe_next(verder))


class ManageController(Controller):
    path = "/mijn"
    include_in_schema = False

    @get("/")
    async def show(
        self, conn: Conn, state: State, request: Request[Any, Any, Any], token: TokenParam = None,
        afgemeld: Annotated[UUID | None, QueryParameter(description="the registration just cancelled")] = None,
    ) -> Response[Any]:  # fmt: skip
        settings: Settings = state.settings
        if token is not None:
            # A manage link from a mail: remember it in this browser, then drop the token from the address bar.
            resolved = await tokens.resolve_token(conn, token, "manage")
            if resolved is None:
                return _manage_link_failed(await tokens.state(conn, token, "manage"))
            await participants.prove(conn, resolved.participant_id)
            expires = await conn.fetchval("SELECT expires_at FROM participant_tokens WHERE id = $1", resolved.token_id)
            cookie = session.cookie(
                settings, token, expires or datetime.now(UTC) + timedelta(days=settings.manage_link_days)
            )
            theirs = await conn.fetchval("SELECT locale FROM participants WHERE id = $1", resolved.participant_id)
            cookies = [cookie, *language.first_visit(request, settings, theirs)]
            return Redirect("/mijn", status_code=303, cookies=cookies, headers=HEADERS)
        visitor = await session.participant(conn, request)
        if visitor is None:
            return message(
                _("Log in om verder te gaan"),
                _("Open de link uit je laatste mail van Leerkring, of vraag hieronder een nieuwe aan."),
                status=401,
                signin_form=True,
            )
        notice = ""
        if afgemeld is not None:  # after cancelling one (services/web/my_cancel.py): only one's own, by its title
            title = await conn.fetchval(
                "SELECT m.title FROM registrations r JOIN meetings m ON m.id = r.meeting_id "
                "WHERE r.id = $1 AND r.participant_id = $2 AND r.status = 'cancelled'",
                afgemeld,
                visitor.participant_id,
            )
            if title is not None:
                notice = _("Je bent afgemeld voor %(title)s. Je krijgt een bevestiging per mail.") % {"title": title}
        return await manage_page(conn, settings, visitor, notice=notice)

    @get(["/gegevens", "/herinneringen", "/agenda-herinnering", "/agenda-link", "/uitloggen", "/verwijderen"])
    async def after_post(self) -> Redirect:
        """These forms answer at their POST address; opened again, the address leads back to the page they are on."""
        return Redirect("/mijn", status_code=303)

    @post("/gegevens", status_code=200)
    async def save_profile(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        visitor = await form_visitor(conn, state, request)
        form = await forms.read(request)
        try:
            async with conn.transaction():
                # The language of their mails is theirs to choose here (a page's language switch is only the page's).
                values = msgspec.structs.asdict(forms.profile(form)) | {"locale": i18n.parse(form.get("locale"))}
                await participants.update(conn, visitor.participant_id, values)
                await suppression.asked_again(conn, state.settings.secret_key, visitor.participant_id)
        except InvalidInput as exc:
            errors = field_errors(exc.errors)
            return await manage_page(conn, state.settings, visitor, status=422, form=form, errors=errors)
        return await manage_page(conn, state.settings, visitor, notice=_("Je gegevens zijn opgeslagen."))

    @post("/herinneringen", status_code=200)
    async def switch_reminders(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        """`bereik`: "alle" or a registration id of the visitor's; `aan`: "ja" or "nee"."""
        visitor = await form_visitor(conn, state, request)
        form = await forms.read(request)
        wanted = form.get("aan") == "ja"
        scope = form.get("bereik", "")
        if scope == "alle":
            await reminders.set_for_all(conn, visitor.participant_id, wanted=wanted)
            notice = _("Je krijgt weer herinneringen.") if wanted else _("Je krijgt geen herinneringen meer.")
            return await manage_page(conn, state.settings, visitor, notice=notice)
        try:
            registration_id = UUID(scope)
        except ValueError:
            registration_id = None
        owner = registration_id and await conn.fetchval(
            "SELECT participant_id FROM registrations WHERE id = $1", registration_id
        )
        if registration_id is None or owner != visitor.participant_id:
            errors = {"bereik": _("Deze inschrijving kennen we niet")}
            return await manage_page(conn, state.settings, visitor, status=422, errors=errors)
        await reminders.set_for_meeting(conn, registration_id, wanted=wanted)
        notice = (
            _("Je krijgt weer herinneringen voor deze bijeenkomst.")
            if wanted
            else _("Je krijgt geen herinneringen meer voor deze bijeenkomst.")
        )
        return await manage_page(conn, state.settings, visitor, notice=notice)

    @post("/agenda-herinnering", status_code=200)
    async def feed_alarm(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        """`minuten`: "" (no alarm) or one of the choices: an alarm in the personal feed before each seat."""
        visitor = await form_visitor(conn, state, request)
        chosen = (await forms.read(request)).get("minuten", "")
        if chosen and chosen not in {str(m) for m, _ in _ALARMS}:
            errors = {"minuten": _("Kies een van de mogelijkheden")}
            return await manage_page(conn, state.settings, visitor, status=422, errors=errors)
        await conn.execute(
            "UPDATE participants SET feed_alarm_minutes = $2, feed_alarm_changed_at = now() WHERE id = $1",
            visitor.participant_id,
            int(chosen) if chosen else None,
        )
        label = dict(_ALARMS).get(int(chosen)) if chosen else None
        notice = (
            _("Je agenda waarschuwt je voortaan %(when)s voor elke bijeenkomst waarvoor je bent ingeschreven.")
            % {"when": _(label)}
            if label
            else _("Je agenda-abonnement geeft geen waarschuwing meer vooraf.")
        )
        return await manage_page(conn, state.settings, visitor, notice=notice)

    @post("/agenda-link", status_code=200)
    async def new_feed_link(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        visitor = await form_visitor(conn, state, request)
        await tokens.rotate_feed(conn, state.settings.secret_key, visitor.participant_id)
        notice = _("Je hebt een nieuwe agenda-link. De oude werkt niet meer: abonneer je hieronder opnieuw.")
        return await manage_page(conn, state.settings, visitor, notice=notice)

    @get("/gegevens.json")
    async def download(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Response[bytes]:
        visitor = await form_visitor(conn, state, request)
        export = await me.export(conn, visitor.participant_id)
        headers = {**HEADERS, "Content-Disposition": 'attachment; filename="mijn-gegevens-leerkring.json"'}
        return Response(msgspec.json.encode(export), media_type="application/json", headers=headers)

    @post("/uitloggen", status_code=200)
    async def sign_out_everywhere(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        visitor = await form_visitor(conn, state, request)
        await tokens.revoke_all(conn, visitor.participant_id, "manage")
        await tokens.revoke_all(conn, visitor.participant_id, "signin")
        done = message(
            _("Je bent overal uitgelogd"),
            _("De persoonlijke links in eerdere mails werken niet meer."),
            _("Je agenda-abonnement blijft werken."),
            signin_form=True,
        )
        done.cookies.append(session.forget(state.settings))
        return done

    @post("/verwijderen", status_code=200)
    async def erase(self, conn: Conn, state: State, request: Request[Any, Any, Any]) -> Template:
        visitor = await form_visitor(conn, state, request)
        form = await forms.read(request)
        if form.get("bevestig") != "ja":
            errors = {"bevestig": _("Vink aan dat je echt alles wilt laten verwijderen")}
            return await manage_page(conn, state.settings, visitor, status=422, errors=errors)
        erased = await me.erase(conn, visitor.participant_id, secret=state.settings.secret_key)
        lines = [
            _("Je naam en e-mailadres zijn gewist op %(when)s.") % {"when": moment(erased.erased_at, locale=locale())}
        ]
        if erased.cancelled_registrations:
            count = erased.cancelled_registrations
            lines.append(
                _("1 inschrijving is geannuleerd; je plek gaat naar de volgende.")
                if count == 1
                else _("%(n)s inschrijvingen zijn geannuleerd; je plekken gaan naar de volgenden.") % {"n": count}
            )
        done = message(_("Je gegevens zijn verwijderd"), *lines)
        done.cookies.append(session.forget(state.settings))
        return done


def _manage_link_failed(state_: str | None) -> Template:
    if state_ == "expired":
        return message(
            _("Link verlopen"),
            _("Deze persoonlijke link is verlopen. Vraag hieronder een nieuwe aan."),
            status=410,
            signin_form=True,
        )
    if state_ == "used":
        return message(
            _("Link werkt niet meer"),
            _("Deze link werkt niet meer: je bent overal uitgelogd, of je gegevens zijn verwijderd."),
            status=410,
            signin_form=True,
        )
    return message(
        _("Link onbekend"), _("Deze link kennen we niet. Vraag hieronder een nieuwe aan."), status=404, signin_form=True
    )


async def form_visitor(conn: Connection, state: State, request: Request[Any, Any, Any]) -> ParticipantActor:
    """The signed-in participant of a form post. Raises NotAuthenticated, Forbidden (a form from another site)."""
    session.same_site(request, state.settings)
    visitor = await session.participant(conn, request)
    if visitor is None:
        raise NotSignedIn()
    return visitor


class NotSignedIn(DomainError):
    status = 401
    slug = "niet-aangemeld"
    title = N_("Log in om verder te gaan")

    def __init__(self) -> None:
        super().__init__(_("Je sessie is verlopen of je bent uitgelogd. Open de link uit je laatste mail opnieuw."))
