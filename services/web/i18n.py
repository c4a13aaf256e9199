"""The pages' language: Dutch by default, English on request; every word people read goes through gettext.

Dutch is the source language: a msgid is the Dutch text itself, so a template reads as the page it renders and
Dutch needs no catalog. `locales/en/LC_MESSAGES/messages.po` holds the English. Babel reads the .po once at
import; there is no compile step and no .mo to keep in step (the catalog is a few hundred short entries).
`python -m services.web.i18n` extracts the strings from templates and code and merges them into the .po
(services/web/locales/UPDATING.md); tests/unit/test_web_i18n.py fails while any entry lacks its English.

Which language a request gets: the `leerkring_taal` cookie set by the language switch (POST /taal), else Dutch.
A page that knows its reader's language (an invitation sent in English) sets it itself, and a browser that signs in
by a personal link without having chosen gets the cookie in the language of the person's mails
(services/web/language.py first_visit).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from services.dates import Locale

COOKIE = "leerkring_taal"
LOCALES: tuple[Locale, ...] = ("nl", "en")
# The request's language. One ContextVar: the middleware sets it before the handler runs, and the template is
# rendered in the same task, so Python code and templates agree without passing it around.
CURRENT: ContextVar[Locale] = ContextVar("leerkring_locale", default="nl")


def _load(locale: Locale) -> dict[str, str]:
    path = resources.files("services.web") / "locales" / locale / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


_CATALOGS: dict[Locale, dict[str, str]] = {"nl": {}, "en": _load("en")}


def locale() -> Locale:
    return CURRENT.get()


def gettext(text: str) -> str:
    """`text` (Dutch) in the request's language; untranslated text stays Dutch."""
    return _CATALOGS[CURRENT.get()].get(text, text)


def ngettext(singular: str, plural: str, n: int) -> str:
    chosen = singular if n == 1 else plural
    return _CATALOGS[CURRENT.get()].get(chosen, chosen)


_ = gettext


def N_(text: str) -> str:
    """Marks text for the catalog where it is defined (module constants); translate it with `_()` where used."""
    return text


def parse(value: str | None) -> Locale:
    return "en" if value == "en" else "nl"


@contextmanager
def using(wanted: Locale) -> Iterator[None]:
    """Run a block in one language (tests; code that renders for someone else)."""
    token = CURRENT.set(wanted)
    try:
        yield
    finally:
        CURRENT.reset(token)


class LocaleMiddleware:
    """Sets CURRENT for the request from the language cookie (plain ASGI, so it costs one cookie lookup)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        token = CURRENT.set(_from_headers(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)


def _from_headers(scope: Scope) -> Locale:
    for name, value in scope["headers"]:
        if name == b"cookie" and COOKIE.encode() in value:
            for part in value.decode("latin-1").split(";"):
                key, _sep, val = part.strip().partition("=")
                if key == COOKIE:
                    return parse(val)
    return "nl"


# --- keeping the catalog in step (a developer's command, not run by the app) ---

METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


# Dutch written outside services/web that pages show as it is. The domain errors a participant can meet on a page
# (the first argument of the error classes in these modules; f-strings with values stay Dutch) and the constants
# below: extract() lists them with the page strings, so the catalog test holds them to an English entry too.
DOMAIN_SOURCES = (
    "registrations/admission.py",
    "registrations/service.py",
    "registrations/requests.py",
    "attendance/service.py",
    "participants/service.py",
)
# Worker modules whose mails take their words from this catalog (`_` imported from here).
MAIL_SOURCES = ("workers/jobs/staff_mail.py",)
ERROR_KEYWORDS: dict[str, Any] = dict.fromkeys(
    ("InvalidInput", "NotFound", "Conflict", "Gone", "Forbidden", "TooManyRequests")
)


# services/meetings/service.py's FieldError messages (keyword arguments, so extraction does not find them).
MEETING_FIELD_MESSAGES = (
    "Het einde moet na het begin liggen",
    "De inschrijving moet sluiten na de opening",
    "De inschrijving sluit uiterlijk aan het einde",
    "Deze reeks bestaat niet bij je organisatie",
    "Deze vragenlijst bestaat niet bij je organisatie",
)


def shown_constants() -> list[str]:
    """Texts of other packages on participant pages: service answers, feed windows and descriptions, the built-in
    evaluation questions, the titles of the domain errors, the rate limits' answers (the pages' 429),
    why a pasted address was set aside (the invitation's progress page)."""
    from services import errors, ratelimit
    from services.evaluations import questionnaire
    from services.feeds import links, windows
    from services.feeds.service import ABOUT_PUBLIC
    from services.invitations import addresses
    from services.participants.service import LINK_SENT
    from services.registrations.requests import REQUESTED

    texts = [LINK_SENT, REQUESTED, links.PERSONAL_ABOUT, ABOUT_PUBLIC]
    texts += [w.label for w in (windows.WIDE, windows.THEME, windows.BODY, windows.PERSONAL)]
    for q in questionnaire.DEFAULT:
        texts += [q.text, *(label for _value, label in q.options), *(t for t in (q.low, q.high) if t)]
    texts += [k.title for k in vars(errors).values() if isinstance(k, type) and issubclass(k, errors.DomainError)]
    texts += [b.message for b in vars(ratelimit).values() if isinstance(b, ratelimit.Bucket)]
    texts += [addresses.REASON_CONTROL, addresses.REASON_FORM, addresses.REASON_LENGTH, addresses.REASON_SEVERAL]
    # The field messages of a form's check that hold no value: msgspec's (services/errors.py) and the meeting
    # service's own (services/meetings/service.py), which the organiser's meeting form shows at its fields.
    texts += [dutch for _pattern, dutch in errors._MSGSPEC_PATTERNS if "{" not in dutch]
    texts += list(MEETING_FIELD_MESSAGES)
    return list(dict.fromkeys(texts))


def extract() -> Catalog:
    """Every translatable string in services/web (templates and code), and the Dutch of other packages it shows."""
    from babel.messages.extract import extract_from_dir, extract_from_file

    catalog = Catalog(project="leerkring", locale="nl")
    root = Path(__file__).parent
    found: Any = extract_from_dir(root, METHODS, options_map=OPTIONS, keywords={"_": None, "gettext": None, "N_": None})
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for source in DOMAIN_SOURCES:
        for lineno, message, comments, context in extract_from_file("python", root.parent / source, ERROR_KEYWORDS):
            catalog.add(message, None, [(f"../{source}", lineno)], auto_comments=comments, context=context)
    for source in MAIL_SOURCES:  # mails written in the worker with the pages' catalog
        for lineno, message, comments, context in extract_from_file("python", root.parent.parent / source, {"_": None}):
            catalog.add(message, None, [(f"../../{source}", lineno)], auto_comments=comments, context=context)
    for text in shown_constants():
        catalog.add(text, None, [("i18n.py", 0)])
    return catalog


def main() -> int:
    """Merge the extracted strings into the English .po; new ones arrive empty, gone ones are dropped."""
    from babel.messages.pofile import write_po

    path = Path(__file__).parent / "locales" / "en" / "LC_MESSAGES" / "messages.po"
    template = extract()
    if path.exists():
        with path.open("rb") as po:
            english = read_po(po, locale="en")
    else:
        english = Catalog(locale="en", project="leerkring")
    english.update(template, no_fuzzy_matching=True)
    english.obsolete.clear()
    with path.open("wb") as po:
        write_po(po, english, omit_header=False, sort_output=True, width=120, include_lineno=False)
    missing = [m.id for m in english if m.id and not m.string]
    sys.stderr.write(f"{path}: {len(english)} entries, {len(missing)} without English\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
