"""Fragments from a meeting row, without a database: the texts feeds are joined from, and the feed window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import icalendar
import msgspec
from hypothesis import given
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from services.calendar import assemble, feed_header, meeting_uid
from services.feeds import windows
from services.feeds.fragments import (
    FEED_DESCRIPTION_CHARS,
    content_hash,
    feed_description,
    feed_keys,
    render_fragment,
)
from services.feeds.queries import MeetingSource

AMS = ZoneInfo("Europe/Amsterdam")
MEETING_ID = UUID("0b6f3c1e-6a43-4c1b-9d55-5e1f0c2b7a10")


def source(**changes: Any) -> MeetingSource:
    base = MeetingSource(
        id=MEETING_ID,
        title="Intervisie jeugdzorg",
        description="Agenda: casus bespreken.",
        themes=["de-bedoeling"],
        theme_names=["De bedoeling"],
        starts_at=datetime(2027, 3, 14, 14, 0, tzinfo=AMS),
        ends_at=datetime(2027, 3, 14, 16, 0, tzinfo=AMS),
        timezone="Europe/Amsterdam",
        venue_name="Stadhuis",
        venue_address="Spui 70",
        venue_city="Den Haag",
        online_url="https://meet.example.nl/abc",
        audience_groups=["wmo-consulent"],
        audience_organisations=["GM0518"],
        audience_regions=["PV28"],
        organiser_codes=["VNG"],
        funder_codes=["AOF", "VNG"],
        organiser_name="Vereniging van Nederlandse Gemeenten",
        status="published",
        sequence=2,
        revision=5,
        updated_at=datetime(2027, 1, 2, 9, 30, 12, 345678, tzinfo=UTC),
        published_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    return msgspec.structs.replace(base, **changes)


def render(src: MeetingSource) -> Any:
    return render_fragment(src, base_url="https://leerkring.nl/", organizer="noreply@leerkring.nl")


def wrap(vevent: bytes) -> str:
    return assemble(feed_header("Test", ["Europe/Amsterdam"]), [vevent]).decode()


def parsed(vevent: bytes) -> icalendar.Event:
    text = wrap(vevent)
    IcsCalendarStream.calendar_from_ics(text)  # the strict parser accepts it too
    event: icalendar.Event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    return event


def test_fragment_carries_uid_revision_stamp_url_and_the_online_link_only_for_a_seat():
    fragment = render(source())
    event = parsed(fragment.vevent)
    assert "meet.example.nl" not in wrap(fragment.vevent), "shared feeds never carry the online link"
    assert fragment.vevent_confirmed is not None
    seated = parsed(fragment.vevent_confirmed)
    assert "Online deelnemen: https://meet.example.nl/abc" in str(seated["DESCRIPTION"])
    assert str(seated["UID"]) == str(event["UID"])
    assert str(event["UID"]) == meeting_uid(MEETING_ID) == f"{MEETING_ID}@leerkring.nl"
    assert event["SEQUENCE"] == 2
    assert event["DTSTAMP"].dt == datetime(2027, 1, 2, 9, 30, 12, tzinfo=UTC), "DTSTAMP is the last revision"
    assert str(event["URL"]) == f"https://leerkring.nl/bijeenkomsten/{MEETING_ID}"
    assert str(event["LOCATION"]) == "Stadhuis, Spui 70, Den Haag"
    assert [str(c) for c in event["CATEGORIES"].cats] == ["De bedoeling"]
    assert event["ORGANIZER"].params["CN"] == "Vereniging van Nederlandse Gemeenten"
    assert (fragment.revision, fragment.sequence, fragment.tzid) == (5, 2, "Europe/Amsterdam")
    assert fragment.audience_codes == ["GM0518", "PV28"]


def test_fragments_are_byte_stable_and_their_hash_follows_the_text():
    a, b = render(source()), render(source())
    assert (a.vevent, a.content_hash) == (b.vevent, b.content_hash)
    moved = render(source(title="Andere titel"))
    assert moved.content_hash != a.content_hash
    assert -(2**63) <= a.content_hash < 2**63
    assert content_hash(b"ab", None) != content_hash(b"a", b"b"), "parts cannot run into each other"


def test_waitlisted_and_offered_variants_are_tentative_and_free():
    fragment = render(source())
    for data, prefix in ((fragment.vevent_waitlisted, "Wachtlijst: "), (fragment.vevent_offered, "Plek aangeboden: ")):
        assert data is not None
        event = parsed(data)
        assert str(event["STATUS"]) == "TENTATIVE"
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert str(event["SUMMARY"]) == prefix + "Intervisie jeugdzorg"
        assert str(event["UID"]) == meeting_uid(MEETING_ID)
        assert "meet.example.nl" not in wrap(data), "a place on the waiting list is no seat"


def test_cancelled_meeting_has_one_visibly_cancelled_text():
    fragment = render(source(status="cancelled", sequence=3))
    assert fragment.cancelled
    assert fragment.vevent_waitlisted is None
    assert fragment.vevent_offered is None
    assert fragment.vevent_confirmed is None
    event = parsed(fragment.vevent)
    assert (str(event["STATUS"]), str(event["SUMMARY"])) == ("CANCELLED", "Geannuleerd: Intervisie jeugdzorg")
    assert event["SEQUENCE"] == 3


def test_online_only_meeting_says_so_as_location():
    event = parsed(render(source(venue_name=None, venue_address=None, venue_city=None)).vevent)
    assert str(event["LOCATION"]) == "Online"


@given(title=st.text(min_size=1, max_size=300), description=st.text(max_size=600))
def test_any_text_stays_one_well_formed_event(title: str, description: str):
    fragment = render(source(title=title, description=description))
    data = fragment.vevent
    assert data.endswith(b"\r\n")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    for line in data[:-2].split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")
    assert len(re.findall(rb"\r\nBEGIN:VEVENT\r\n|^BEGIN:VEVENT\r\n", data)) == 1
    assert data.count(b"\r\nEND:VEVENT\r\n") == 1


def test_feed_keys_cover_every_feed_a_meeting_is_in():
    assert feed_keys(["a"], ["wmo"], ["GM0518"]) == {"public", "theme:a", "group:wmo", "aud:GM0518"}
    assert feed_keys([], [], []) == {"public", "group:*", "aud:*"}, "an empty audience means everybody"
    assert feed_keys([], [], [], ["VNG", "AOF"]) >= {"body:VNG", "body:AOF"}, "organising and funding bodies"


WINDOWS = st.sampled_from([windows.WIDE, windows.THEME, windows.BODY, windows.PERSONAL])


@given(
    ends=st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds and adds the zone itself
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    window=WINDOWS,
)
def test_a_meeting_is_in_the_window_exactly_until_it_left(ends: datetime, later: timedelta, window: windows.Window):
    now = ends + later
    start, _ = windows.bounds(window, windows.today(now))
    assert (ends > start) == (now < windows.left_window_at(ends, window.back))


@given(
    starts=st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    before=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    window=WINDOWS,
)
def test_a_meeting_is_in_the_window_exactly_from_when_it_entered(
    starts: datetime, before: timedelta, window: windows.Window
):
    now = starts - before
    _, end = windows.bounds(window, windows.today(now))
    assert (starts < end) == (now >= windows.entered_window_at(starts, window.ahead))


def test_windows_are_measured_from_midnight():
    now = datetime(2027, 5, 10, 15, 30, tzinfo=UTC)
    day = windows.today(now)
    assert day == datetime(2027, 5, 10, tzinfo=UTC)
    assert windows.bounds(windows.WIDE, day) == (day - timedelta(weeks=1), day + timedelta(weeks=4))
    back = timedelta(weeks=4)
    assert windows.left_window_at(datetime(2027, 5, 1, 12, 0, tzinfo=UTC), back) == datetime(2027, 5, 30, tzinfo=UTC)
    assert windows.left_window_at(datetime(2027, 5, 2, 0, 0, tzinfo=UTC), back) == datetime(2027, 5, 30, tzinfo=UTC)
    assert windows.entered_window_at(datetime(2027, 6, 14, 9, 0, tzinfo=UTC), timedelta(weeks=5)) == datetime(
        2027, 5, 11, tzinfo=UTC
    )


def test_a_feed_over_the_limit_drops_its_furthest_meetings_and_warns_near_it(caplog: Any):
    assert windows.fit("public", 100, [300, 300], limit=1000) == 2
    assert not caplog.records
    assert windows.fit("public", 100, [300, 300, 250], limit=1000) == 3  # 950: past 80 %
    assert caplog.records[-1].levelname == "WARNING"
    assert "public" in caplog.records[-1].getMessage()
    assert windows.fit("public", 100, [300, 300, 300, 300], limit=1000) == 3
    assert caplog.records[-1].levelname == "ERROR"


def test_long_descriptions_are_cut_in_feeds_at_a_word():
    long = "woord " * 400
    cut = feed_description(long)
    assert len(cut) <= FEED_DESCRIPTION_CHARS
    assert cut.endswith(" …")
    assert cut.removesuffix(" …").endswith("woord")
    assert feed_description("kort") == "kort"
    fragment = render(source(description=long))
    assert str(parsed(fragment.vevent)["DESCRIPTION"]).startswith(cut + "\n\nMeer informatie: ")
    assert fragment.vevent_confirmed is not None
    seated = parsed(fragment.vevent_confirmed)
    assert str(seated["DESCRIPTION"]).startswith(cut + "\n\nOnline deelnemen: https://meet.example.nl/abc")
    assert render(source()).body_codes == ["AOF", "VNG"]
