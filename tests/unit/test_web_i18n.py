"""The pages' catalog: every string in the templates and page code has its English, with the same placeholders;
dates read as Dutch people write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.dates import format_when, moment, span
from services.web import i18n

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
