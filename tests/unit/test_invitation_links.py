"""Signed register/decline links, pasted addresses and the "what changed" summary: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import Change
from services.invitations import links
from services.invitations.addresses import REASON_CONTROL, REASON_FORM, REASON_SEVERAL, parse_addresses
from services.invitations.changes import Placement, baseline_from, merge_baseline, previous, summarise

SECRET = "geheim"
MEETING = uuid4()
NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
AMS = ZoneInfo("Europe/Amsterdam")


def token(purpose: links.Purpose = "register", **kw: object) -> str:
    """A v1 link, as mailed until 2026-12 (the claims in the URL); still verified until it expires."""
    until: datetime = kw.pop("until", NOW + timedelta(days=30))  # type: ignore[assignment]
    expires = min(until, NOW + links.MAX_LIFETIME)
    claims = links.LinkClaims(
        purpose=purpose, meeting_id=MEETING, email="jan@gemeente.nl", locale="nl", expires=int(expires.timestamp())
    )
    return links.sign_v1(SECRET, claims)


def test_one_spelling_per_link_the_spare_bits_of_the_last_character_count() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for good in (token(), links.make(SECRET, "register", 42)):
        last = alphabet.index(good[-1])
        for spare in range(1, 4):  # the MAC's last character carries 4 bits of it and 2 spare bits
            other = good[:-1] + alphabet[last ^ spare]
            with pytest.raises(links.InvalidLink, match="bad signature"):
                links.verify(SECRET, other, "register", now=NOW)


def test_a_v2_link_names_the_invitation_and_nothing_else() -> None:
    made = links.make(SECRET, "register", 42)
    version, number, mac = made.split(".")
    assert (version, number) == ("v2", "42")
    assert len(mac) == 22, "128 bits of MAC"
    assert links.verify(SECRET, made, "register") == links.InvitationRef(purpose="register", invitation_id=42)
    assert links.url("https://lk.test/", made, "register") == f"https://lk.test/uitnodiging/aanmelden/{made}"
    with pytest.raises(links.InvalidLink, match="signature"):
        links.verify(SECRET, made, "decline")
    with pytest.raises(links.InvalidLink, match="signature"):
        links.verify("ander geheim", made, "register")
    with pytest.raises(links.InvalidLink, match="signature"):
        links.verify(SECRET, f"v2.43.{mac}", "register")
    for odd in ("+42", "4_2", "٤٢", "-42", "042", "", "9" * 20):
        with pytest.raises(links.InvalidLink, match="malformed"):
            links.verify(SECRET, f"v2.{odd}.{mac}", "register")


def test_a_v2_link_holds_until_the_start_and_at_most_its_lifetime() -> None:
    start = NOW + timedelta(days=10)
    assert links.expiry(start, NOW, NOW) == start
    assert links.expiry(NOW + timedelta(days=3650), NOW, NOW) == NOW + links.MAX_LIFETIME


def test_v1_link_round_trip() -> None:
    claims = links.verify(SECRET, token(), "register", now=NOW)
    assert isinstance(claims, links.LinkClaims)
    assert (claims.purpose, claims.meeting_id, claims.email, claims.locale) == (
        "register",
        MEETING,
        "jan@gemeente.nl",
        "nl",
    )
    assert claims.expires_at == NOW + timedelta(days=30)


def test_link_is_single_purpose() -> None:
    with pytest.raises(links.InvalidLink, match="purpose"):
        links.verify(SECRET, token("register"), "decline", now=NOW)


def test_v1_link_expires() -> None:
    t = token(until=NOW + timedelta(hours=1))
    links.verify(SECRET, t, "register", now=NOW + timedelta(minutes=59))
    with pytest.raises(links.InvalidLink) as caught:
        links.verify(SECRET, t, "register", now=NOW + timedelta(hours=1))
    assert caught.value.expired
    assert caught.value.claims is not None
    assert caught.value.locale == "nl"


def test_link_from_another_secret_or_altered_is_refused() -> None:
    good = token()
    version, _, mac = good.split(".")
    with pytest.raises(links.InvalidLink, match="signature"):
        links.verify("ander geheim", good, "register", now=NOW)
    verified = links.verify(SECRET, good, "register", now=NOW)
    assert isinstance(verified, links.LinkClaims)
    forged = links.sign_v1("ander geheim", verified)
    with pytest.raises(links.InvalidLink):
        links.verify(SECRET, forged, "register", now=NOW)
    other_body = token("decline").split(".")[1]
    with pytest.raises(links.InvalidLink):
        links.verify(SECRET, f"{version}.{other_body}.{mac}", "decline", now=NOW)


@given(st.text(max_size=300))
def test_garbage_never_verifies(value: str) -> None:
    with pytest.raises(links.InvalidLink):
        links.verify(SECRET, value, "register", now=NOW)


def test_pasted_addresses_are_checked_one_by_one() -> None:
    parsed = parse_addresses(
        [
            "jan@gemeente.nl",
            "  Els de Vries <ELS@Gemeente.nl> ",
            '"Jansen, Piet" <piet@gemeente.nl>',
            "JAN@gemeente.nl",
            "",
            "geen-adres",
            "a@b",
            "x@y.nl\nBcc: z@evil.nl",
            "a@b.nl, c@d.nl",
            "zoë@gemeente.nl",
            "a..b@gemeente.nl",
            "a@-gemeente.nl",
        ]
    )
    assert [(a.email, a.name) for a in parsed.accepted] == [
        ("jan@gemeente.nl", ""),
        ("els@gemeente.nl", "Els de Vries"),
        ("piet@gemeente.nl", "Jansen, Piet"),
        ("zoë@gemeente.nl", ""),
    ]
    assert parsed.duplicates == ["jan@gemeente.nl"]
    reasons = {r.value: r.reason for r in parsed.rejected}
    assert reasons["geen-adres"] == REASON_FORM
    assert reasons["a@b"] == REASON_FORM
    assert reasons["x@y.nl Bcc: z@evil.nl"] == REASON_CONTROL  # echoed back on one line
    assert reasons["a@b.nl, c@d.nl"] == REASON_SEVERAL
    assert reasons["a..b@gemeente.nl"] == REASON_FORM
    assert reasons["a@-gemeente.nl"] == REASON_FORM


def placement(**kw: object) -> Placement:
    base: dict[str, object] = {
        "starts_at": datetime(2027, 3, 18, 13, 30, tzinfo=AMS),
        "ends_at": datetime(2027, 3, 18, 16, 0, tzinfo=AMS),
        "timezone": "Europe/Amsterdam",
        "venue_name": "Stadhuis",
        "venue_city": "Den Haag",
    }
    base.update(kw)
    return Placement(**base)  # type: ignore[arg-type]


def test_summary_of_a_move() -> None:
    before, after = placement(), placement(venue_name="Provinciehuis", online_url="https://meet.example.nl/x")
    lines = summarise(before, after, "nl")
    assert [(line.label, line.old, line.new) for line in lines] == [
        ("Locatie", "Stadhuis, Den Haag", "Provinciehuis, Den Haag"),
        ("Online link", "geen", "https://meet.example.nl/x"),
    ]
    assert summarise(before, before, "en") == []


def test_baseline_keeps_the_earliest_old_value() -> None:
    first = baseline_from(
        [Change(field="venue_name", old="Stadhuis", new="A"), Change(field="title", old="x", new="y")], 3
    )
    second = baseline_from([Change(field="venue_name", old="A", new="B")], 4)
    assert first == {"venue_name": {"seq": 3, "old": "Stadhuis"}}  # a title is no calendar move
    # Handled out of order, the merge still keeps the value from before the earliest change.
    assert merge_baseline(second, first) == merge_baseline(first, second) == first
    now = placement(venue_name="B")
    assert previous(now, merge_baseline(first, second)).venue_name == "Stadhuis"
    assert summarise(previous(now, first), now, "nl")[0].old == "Stadhuis, Den Haag"


def test_edits_that_undo_each_other_leave_nothing() -> None:
    start = placement().starts_at
    baseline = baseline_from([Change(field="starts_at", old=start.astimezone(UTC).isoformat(), new="x")], 5)
    assert summarise(previous(placement(), baseline), placement(), "nl") == []
