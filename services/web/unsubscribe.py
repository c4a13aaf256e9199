"""/uitschrijven/{invitation}/{token}: the List-Unsubscribe link of a mass invitation.

GET shows what the button does and never acts (mail scanners open links). POST acts: the page's button, and the
one-click POST a mail client sends by itself (RFC 8058: body `List-Unsubscribe=One-Click`, no cookie, no Origin
of ours). So this POST alone is not held to the same-site check of the other pages: the signed token is the proof,
and all it can do is stop invitations to the address the mail went to.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from services.db import Conn
from services.invitations import unsubscribe
from services.web.i18n import gettext as _
from services.web.render import PAGE_ERRORS, message


def _invalid() -> Template:
    return message(
        _("Link onbekend"), _("Deze afmeldlink klopt niet. Gebruik de link uit de uitnodiging zelf."), status=404
    )


def _too_old() -> Template:
    """A link of the first kind whose invitation retention removed: say so rather than pretend it worked."""
    return message(
        _("Afmeldlink te oud"),
        _(
            "Deze afmeldlink is te oud: we bewaren uitnodigingen een jaar na de bijeenkomst, en deze link zegt zelf "
            "niet naar welk adres hij ging. Er is dus niets veranderd."
        ),
        _(
            "Zet uitnodigingen uit op je eigen pagina (Mijn bijeenkomsten), "
            "of gebruik de afmeldlink in een nieuwere mail."
        ),
        status=410,
        links=[(_("Inloggen"), "/inloggen")],
    )


class UnsubscribePageController(Controller):
    path = unsubscribe.PATH
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # type: ignore[assignment]

    @get("/{invitation_id:int}/{token:str}")
    async def show(self, conn: Conn, state: State, invitation_id: FromPath[int], token: FromPath[str]) -> Template:
        target = unsubscribe.verify(state.settings.secret_key, invitation_id, token)
        if target is None:
            return _invalid()
        if not await unsubscribe.can_follow(conn, invitation_id, target):
            return _too_old()
        return message(
            _("Geen uitnodigingen meer?"),
            _(
                "Met de knop hieronder krijg je op dit adres geen uitnodigingen van Leerkring meer. "
                "Bijeenkomsten waarvoor je al bent uitgenodigd of ingeschreven houden je op de hoogte van wijzigingen."
            ),
            button=_("Stuur me geen uitnodigingen meer"),
        )

    @post("/{invitation_id:int}/{token:str}", status_code=200)
    async def unsubscribe(
        self, conn: Conn, state: State, invitation_id: FromPath[int], token: FromPath[str]
    ) -> Template:
        target = unsubscribe.verify(state.settings.secret_key, invitation_id, token)
        if target is None:
            return _invalid()
        if not await unsubscribe.follow(conn, state.settings.secret_key, invitation_id, target):
            return _too_old()
        return message(
            _("Afgemeld"),
            _("Je krijgt op dit adres geen uitnodigingen meer van Leerkring."),
            _(
                "Toch weer uitnodigingen? Zet het aan op je eigen pagina (Mijn bijeenkomsten) of schrijf je in op de "
                "pagina van een bijeenkomst."
            ),
        )
