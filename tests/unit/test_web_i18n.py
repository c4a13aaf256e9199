"""The pages' catalog: every string in the templates and page code has its English, with the same placeholders;
dates read as Dutch people write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.dates import format_when, moment, month, span
from services.web import i18n, render
from tests.english import dutch_words

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_page_string_has_english_with_the_same_placeholders() -> None:
    english = i18n._CATALOGS["en"]
    found = [str(m.id) for m in i18n.extract() if m.id]
    assert len(found) > 150, "the extraction finds the templates and the page code"
    missing = [text for text in found if text not in english]
    assert missing == [], "run `python -m services.web.i18n`, then fill in services/web/locales/en/LC_MESSAGES/*.po"
    for text in found:
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english[text])), text


def test_the_language_follows_the_request() -> None:
    assert i18n.gettext("Mijn bijeenkomsten") == "Mijn bijeenkomsten", "Dutch by default"
    with i18n.using("en"):
        assert i18n.gettext("Mijn bijeenkomsten") == "My meetings"
        assert i18n.gettext("Iets wat niet in de catalogus staat") == "Iets wat niet in de catalogus staat"
    assert i18n.parse("en") == "en"
    assert i18n.parse("fr") == "nl", "anything else is Dutch"


def test_dates_as_people_write_them() -> None:
    start, end = datetime(2027, 3, 2, 12, 30, tzinfo=UTC), datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    assert span(start, end, "Europe/Amsterdam") == "dinsdag 2 maart 2027, 13:30–16:00"
    assert span(start, end, "Europe/Amsterdam", "en") == "Tuesday 2 March 2027, 13:30–16:00"
    assert format_when(start, end, "Europe/Amsterdam") == "dinsdag 2 maart 2027, 13:30–16:00 (Nederlandse tijd)"
    assert moment(start) == "2 maart 2027 om 13:30"
    assert moment(start, locale="en") == "2 March 2027 at 13:30"
    summer = datetime(2027, 7, 1, 7, 0, tzinfo=UTC)
    assert moment(summer) == "1 juli 2027 om 09:00", "summer time"


def _message_page(title: str, line: str) -> str:
    context = {"meeting_title": "", "button": "", "links": [], "signin_form": True, "errors": {}, "error_list": []}
    return render._ENVIRONMENT.get_template("message.html").render(
        title=title, lines=[line], signed_in=False, csrf_input="", back_path="/mijn", **context
    )


def test_a_dutch_string_outside_gettext_shows_on_an_english_page() -> None:
    """The check the page tests use (tests/integration/test_web_english.py walks every participant page with it)."""
    with i18n.using("en"):
        translated = _message_page(i18n.gettext("Kom je nog?"), i18n.gettext("Je plek staat vast. Tot dan."))
        forgotten = _message_page("Kom je nog?", i18n.gettext("Je plek staat vast. Tot dan."))
    assert dutch_words(translated) == [], "the page's own copy (header, sign-in form, footer) is English"
    assert set(dutch_words(forgotten)) == {"je", "nog"}, "in the <title> and the heading"
    assert "Nederlands" in translated, "the language switch says its own name, in its own language (lang=nl)"
    with i18n.using("nl"):
        assert len(dutch_words(_message_page("Kom je nog?", "Je plek staat vast."))) > 5


def test_month_names_come_from_cldr() -> None:
    assert month(2027, 3) == "maart 2027"
    assert month(2026, 12, "en") == "December 2026"
