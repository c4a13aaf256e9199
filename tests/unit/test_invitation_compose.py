"""Invitation, update and cancellation mails built for one person, parsed back as a mail client would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.calendar import CalendarMeeting
from services.invitations.changes import Placement, summarise
from services.invitations.compose import Links, Recipient, compose, header_text
from services.settings import Settings
from tests.invitation_checks import parse_imip
from workers.jobs.invitation_batches import build_mail

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
SETTINGS = Settings(mail_from="Leerkring <noreply@leerkring.test>", secret_key="k", base_url="https://lk.test")
LINKS = Links(register="https://lk.test/uitnodiging/aanmelden/abc", decline="https://lk.test/uitnodiging/afmelden/abc")


def meeting(**changes: Any) -> CalendarMeeting:
    base = CalendarMeeting(
        uid="7d1c61b4-1d0e-4a8e-9a57-0c4c2a6f1e11@leerkring.nl",
        sequence=2,
        dtstamp=datetime(2027, 1, 20, 10, 0, tzinfo=UTC),
        starts_at=datetime(2027, 3, 18, 13, 30, tzinfo=AMS),
        ends_at=datetime(2027, 3, 18, 16, 0, tzinfo=AMS),
        timezone="Europe/Amsterdam",
        title="Casuïstiek: ‘de bedoeling’, samen; \\ 🙂",
        description="Neem een casus mee.\nWe werken in kleine groepen.",
        location="Stadhuis, Spui 70, Den Haag",
        url="https://lk.test/bijeenkomsten/1",
        online_url="https://meet.example.nl/abc",
        organizer_name="VNG",
        organizer_email="noreply@leerkring.test",
    )
    return msgspec.structs.replace(base, **changes)


def mail(
    kind: str = "invitation", *, m: CalendarMeeting | None = None, to: Recipient | None = None, **kw: Any
) -> bytes:
    to = to or Recipient(email="jan@gemeente.nl", name="Jansen, Jan", locale="nl")
    composed = compose(kind, m or meeting(), to, links=kw.pop("links", LINKS), now=NOW, **kw)  # type: ignore[arg-type]
    return build_mail(SETTINGS, composed, to, "<x@leerkring.test>").as_bytes()


def test_invitation_is_a_dutch_meeting_request() -> None:
    parsed = parse_imip(mail(), method="REQUEST", to="jan@gemeente.nl")
    assert parsed.uid == meeting().uid
    assert parsed.sequence == 2
    assert parsed.dtstamp == NOW
    assert parsed.summary == meeting().title
    assert str(parsed.message["Subject"]) == f"Uitnodiging: {meeting().title}"
    assert parsed.message["To"].addresses[0].display_name == "Jansen, Jan"
    assert "Beste Jansen, Jan," in parsed.text
    assert "donderdag 18 maart 2027, 13:30–16:00 (Nederlandse tijd)" in parsed.text
    assert LINKS.register in parsed.text
    assert LINKS.decline in parsed.text
    assert f'href="{LINKS.register}"' in parsed.html
    assert "ORGANIZER;CN=VNG:mailto:noreply@leerkring.test" in parsed.ics.decode()


def test_english_for_participants_who_prefer_it() -> None:
    to = Recipient(email="anne@gemeente.nl", name="Anne", locale="en")
    parsed = parse_imip(mail(to=to), method="REQUEST", to="anne@gemeente.nl")
    assert str(parsed.message["Subject"]).startswith("Invitation: ")
    assert "Thursday 18 March 2027, 13:30–16:00 (Dutch time)" in parsed.text
    assert '<html lang="en">' in parsed.html


def test_an_english_mails_calendar_part_speaks_english_too() -> None:
    to = Recipient(email="anne@gemeente.nl", name="Anne", locale="en")
    for kind in ("invitation", "confirmation", "update", "cancellation"):
        method = "CANCEL" if kind == "cancellation" else "REQUEST"
        ics = parse_imip(mail(kind, to=to), method=method, to="anne@gemeente.nl").ics.decode().replace("\r\n ", "")
        description = next(line for line in ics.splitlines() if line.startswith("DESCRIPTION:"))
        assert "More information: https://lk.test/bijeenkomsten/1" in description, (kind, description)
        assert "Meer informatie" not in description, (kind, description)
        assert "Online deelnemen" not in description, (kind, description)
    dutch = parse_imip(mail("confirmation"), method="REQUEST").ics.decode().replace("\r\n ", "")
    assert "Online deelnemen: https://meet.example.nl/abc" in dutch
    assert "Meer informatie: " in dutch


def test_confirmation_offers_only_cancelling() -> None:
    parsed = parse_imip(mail("confirmation"), method="REQUEST")
    assert str(parsed.message["Subject"]).startswith("Inschrijving bevestigd: ")
    assert "Afmelden: " + LINKS.decline in parsed.text
    assert LINKS.register not in parsed.text


def test_calendars_are_asked_to_reply_only_when_replies_reach_us() -> None:
    answering = parse_imip(mail(rsvp=True), method="REQUEST", rsvp=True)
    assert "RSVP=TRUE" in answering.ics.decode().replace("\r\n ", "")
    silent = parse_imip(mail(rsvp=False), method="REQUEST", rsvp=False)
    assert "RSVP=FALSE" in silent.ics.decode().replace("\r\n ", "")
    assert "gebruik de knoppen in deze mail" in silent.text, "without a reply mailbox: point to the links"
    confirmed = parse_imip(mail("confirmation", rsvp=True), method="REQUEST")
    assert confirmed.partstat == "ACCEPTED", "a confirmation tells the calendar the person is coming"


def test_an_update_keeps_a_seated_person_accepted_and_asks_the_others() -> None:
    seated = parse_imip(mail("update", registered=True, seated=True, rsvp=True), method="REQUEST")
    assert seated.partstat == "ACCEPTED", "the update does not set an accepted event back to 'not answered'"
    assert "RSVP=FALSE" in seated.ics.decode().replace("\r\n ", "")
    waiting = parse_imip(mail("update", registered=True, seated=False, rsvp=True), method="REQUEST", rsvp=True)
    assert waiting.partstat == "NEEDS-ACTION", "no seat yet: nothing accepted"
    invited = parse_imip(mail("update", rsvp=True), method="REQUEST", rsvp=True)
    assert invited.partstat == "NEEDS-ACTION"


def test_every_participant_mail_carries_their_own_links() -> None:
    own = Links(
        decline=LINKS.decline,
        manage="https://lk.test/mijn?token=lkp_m",
        feed="https://lk.test/feeds/p/lkp_f.ics",
        feed_webcal="webcal://lk.test/feeds/p/lkp_f.ics",
    )
    parsed = parse_imip(mail("confirmation", links=own), method="REQUEST")
    for url in (own.manage, own.feed, own.feed_webcal):
        assert url in parsed.text
        assert f'href="{url}"' in parsed.html
    assert "stuur deze mail niet door" in parsed.text


@pytest.mark.parametrize("kind", ["cancellation", "registration_cancelled"])
def test_cancellations_are_method_cancel_without_links(kind: str) -> None:
    parsed = parse_imip(mail(kind, m=meeting(sequence=3, status="cancelled"), reason="Ziekte"), method="CANCEL")
    assert parsed.sequence == 3
    assert parsed.status == "CANCELLED"
    assert "uitnodiging/" not in parsed.text
    assert "uitnodiging/" not in parsed.html


def test_update_lists_what_changed() -> None:
    before = Placement(starts_at=meeting().starts_at, ends_at=meeting().ends_at, timezone="Europe/Amsterdam",
                       venue_name="Stadhuis")  # fmt: skip
    moved = meeting(
        sequence=3, starts_at=meeting().starts_at + timedelta(days=1), ends_at=meeting().ends_at + timedelta(days=1)
    )
    after = msgspec.structs.replace(
        before, starts_at=moved.starts_at, ends_at=moved.ends_at, venue_name="Provinciehuis"
    )
    parsed = parse_imip(mail("update", m=moved, changes=summarise(before, after, "nl")), method="REQUEST")
    assert parsed.sequence == 3
    assert "Wat is er veranderd:" in parsed.text
    assert "- Tijd: donderdag 18 maart 2027, 13:30–16:00 (Nederlandse tijd) → vrijdag 19 maart 2027" in parsed.text
    assert "- Locatie: Stadhuis → Provinciehuis" in parsed.text
    assert "<del>Stadhuis</del>" in parsed.html


ATTACKS = [
    "Titel\r\nATTENDEE:mailto:evil@example.org",
    "Titel\nBcc: x@y.nl",
    "Titel\rSUMMARY:dubbel",
    "a\u2028Bcc: x@y.nl",
    '<script>alert(1)</script> & "quotes"',
    "Komma, puntkomma; backslash\\ en emoji 👩🏽‍💻 ’ ë",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_injection_stays_text(attack: str) -> None:
    m = meeting(title=attack, description=attack, location=attack)
    to = Recipient(email="jan@gemeente.nl", name=attack, locale="nl")
    raw = mail(m=m, to=to, note=attack)
    parsed = parse_imip(raw, method="REQUEST", to="jan@gemeente.nl")
    headers = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    assert not re.search(r"^(Bcc|Cc|ATTENDEE|SUMMARY):", headers, re.MULTILINE | re.IGNORECASE)
    unfolded = parsed.ics.decode().replace("\r\n ", "")
    assert unfolded.count("\r\nATTENDEE") == 1
    assert unfolded.count("\r\nSUMMARY") == 1
    assert "<script>" not in parsed.html
    if "\n" not in attack and "\r" not in attack and "\u2028" not in attack:
        assert parsed.summary == attack
        assert str(parsed.message["Subject"]) == f"Uitnodiging: {attack}"


def test_header_text_removes_every_line_break() -> None:
    assert header_text("a\r\nBcc: b\u2028c\u0085d\te") == "a Bcc: b c d e"
    assert header_text("x" * 300).endswith("…")
    assert len(header_text("x" * 300)) == 200


@settings(max_examples=60, deadline=None)
@given(title=st.text(min_size=1, max_size=200), name=st.text(max_size=80))
def test_any_text_gives_a_valid_message(title: str, name: str) -> None:
    if not title.strip():
        title = "x"
    m = meeting(title=title, description=title)
    raw = mail(m=m, to=Recipient(email="jan@gemeente.nl", name=name, locale="nl"))
    parsed = parse_imip(raw, method="REQUEST", to="jan@gemeente.nl")
    assert parsed.uid == m.uid
