"""VEVENTs, feeds and iMIP calendars, parsed back with python-icalendar and the strict `ical` parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar import Calendar
from ical.calendar_stream import IcsCalendarStream

from services.calendar import (
    Attendee,
    CalendarMeeting,
    assemble,
    feed_header,
    render_feed,
    render_imip,
    render_vevent,
)

AMS = ZoneInfo("Europe/Amsterdam")
SENT = datetime(2025, 3, 2, 8, 15, tzinfo=UTC)
ATTENDEES = (
    Attendee(email="jan@gemeente.nl", name="Jansen, Jan"),
    Attendee(email="els@gemeente.nl", name="Els", partstat="ACCEPTED", rsvp=False),
)


def meeting(**changes: Any) -> CalendarMeeting:
    base = CalendarMeeting(
        uid="0b6f3c1e-6a43-4c1b-9d55-5e1f0c2b7a10@leerkring.nl",
        sequence=3,
        dtstamp=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        starts_at=datetime(2025, 3, 14, 14, 0, tzinfo=AMS),
        ends_at=datetime(2025, 3, 14, 16, 0, tzinfo=AMS),
        timezone="Europe/Amsterdam",
        title="Intervisie jeugdzorg",
        description="Agenda: casus bespreken.",
        location="Stadhuis, zaal 3",
        url="https://leerkring.nl/bijeenkomsten/42",
        online_url="https://meet.example.nl/abc-def",
        organizer_name="de Vries, Zoë",
        organizer_email="zoe@vng.nl",
        categories=("Jeugd", "Intervisie"),
    )
    return msgspec.structs.replace(base, **changes)


def feed(*meetings: CalendarMeeting, **kwargs: Any) -> str:
    fragments = [render_vevent(m, for_feed=True, **kwargs) for m in meetings]
    return render_feed("Leerkring VNG", fragments, {m.timezone for m in meetings})


def parse_both(text: str) -> tuple[icalendar.Calendar, Calendar]:
    return icalendar.Calendar.from_ical(text), IcsCalendarStream.calendar_from_ics(text)


def assert_wire_format(text: str) -> None:
    data = text.encode("utf-8")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = data[:-2].split(b"\r\n")
    assert all(lines)  # no blank lines
    assert all(len(line) <= 75 for line in lines)
    assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", data.replace(b"\r\n", b""))


def logical_lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def vevent_props(text: str) -> list[str]:
    lines = logical_lines(text)
    start, end = lines.index("BEGIN:VEVENT"), lines.index("END:VEVENT")
    return [re.split("[;:]", line, maxsplit=1)[0] for line in lines[start + 1 : end]]


def test_feed_parses_with_calendar_properties() -> None:
    text = feed(meeting())
    assert_wire_format(text)
    lenient, strict = parse_both(text)
    assert lenient["METHOD"] == "PUBLISH"
    assert lenient["VERSION"] == "2.0"
    assert lenient["PRODID"] == "-//VNG//Leerkring//NL"
    assert lenient["CALSCALE"] == "GREGORIAN"
    assert lenient["X-WR-CALNAME"] == "Leerkring VNG"
    assert lenient["NAME"] == "Leerkring VNG"
    assert lenient["X-WR-TIMEZONE"] == "Europe/Amsterdam"
    assert lenient["X-PUBLISHED-TTL"] == "PT1H"
    assert strict.method == "PUBLISH"
    assert strict.name == ["Leerkring VNG"]
    assert strict.refresh_interval == timedelta(hours=1)
    assert len(strict.events) == 1


def test_calendar_properties_precede_components() -> None:
    lines = logical_lines(feed(meeting(), meeting(uid="b@leerkring.nl", timezone="Asia/Tokyo")))
    first_component = next(i for i, line in enumerate(lines) if line.startswith("BEGIN:") and i > 0)
    header = [line.split(":")[0].split(";")[0] for line in lines[1:first_component]]
    assert header == [
        "VERSION",
        "PRODID",
        "CALSCALE",
        "METHOD",
        "X-WR-CALNAME",
        "NAME",
        "X-WR-TIMEZONE",
        "REFRESH-INTERVAL",
        "X-PUBLISHED-TTL",
    ]
    assert lines[-1] == "END:VCALENDAR"
    assert lines[-2] == "END:VEVENT"


def test_feed_description_goes_before_components() -> None:
    text = render_feed("Kring", [], ["Europe/Amsterdam"], description="Alle bijeenkomsten, ook online")
    lenient, strict = parse_both(text)
    assert lenient["DESCRIPTION"] == "Alle bijeenkomsten, ook online"
    assert "X-WR-CALDESC:Alle bijeenkomsten\\, ook online\r\n" in text  # X- values are TEXT, escaped alike
    assert strict.description == ["Alle bijeenkomsten, ook online"]
    assert text.index("DESCRIPTION") < text.index("BEGIN:VTIMEZONE")


def test_every_tzid_has_one_vtimezone() -> None:
    text = feed(
        meeting(),
        meeting(uid="ny@leerkring.nl", timezone="America/New_York"),
        meeting(uid="tokyo@leerkring.nl", timezone="Asia/Tokyo"),
        meeting(uid="again@leerkring.nl"),
    )
    used = set(re.findall(r";TZID=([^:;]+)", text.replace("\r\n ", "")))
    defined = re.findall(r"BEGIN:VTIMEZONE\r\nTZID:([^\r]+)", text)
    assert used == {"Europe/Amsterdam", "America/New_York", "Asia/Tokyo"}
    assert sorted(defined) == sorted(used)


def test_vevent_has_required_properties_once() -> None:
    props = vevent_props(render_vevent(meeting(), for_feed=True))
    for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "STATUS", "ORGANIZER", "TRANSP"):
        assert props.count(name) == 1, name
    assert len(props) == len(set(props))
    assert "ATTENDEE" not in props


NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2025, 7, 10, 14, 0, tzinfo=AMS), datetime(2025, 7, 10, 12, 0, tzinfo=UTC)),
        (datetime(2025, 1, 10, 14, 0, tzinfo=AMS), datetime(2025, 1, 10, 13, 0, tzinfo=UTC)),
        (datetime(2031, 3, 30, 9, 30, tzinfo=AMS), datetime(2031, 3, 30, 7, 30, tzinfo=UTC)),
        (datetime(2025, 7, 10, 9, 0, tzinfo=NEW_YORK), datetime(2025, 7, 10, 13, 0, tzinfo=UTC)),
        (datetime(2025, 12, 10, 9, 0, tzinfo=NEW_YORK), datetime(2025, 12, 10, 14, 0, tzinfo=UTC)),
        (datetime(2025, 7, 10, 9, 0, tzinfo=TOKYO), datetime(2025, 7, 10, 0, 0, tzinfo=UTC)),
        (datetime(2025, 1, 10, 9, 0, tzinfo=TOKYO), datetime(2025, 1, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_start_lands_on_the_right_instant(local: datetime, utc: datetime) -> None:
    assert isinstance(local.tzinfo, ZoneInfo)
    tzid = local.tzinfo.key
    text = feed(meeting(timezone=tzid, starts_at=local, ends_at=local + timedelta(hours=1)))
    assert f"DTSTART;TZID={tzid}:{local:%Y%m%dT%H%M%S}\r\n" in text
    lenient, strict = parse_both(text)
    assert lenient.walk("VEVENT")[0].decoded("DTSTART") == utc
    assert strict.events[0].dtstart == utc
    # Also read with the VTIMEZONE we sent rather than the parser's own tz database (what Outlook does).
    block = lenient.walk("VTIMEZONE")[0]
    assert isinstance(block, icalendar.Timezone)
    own = block.to_tz(lookup_tzid=False)
    assert local.replace(tzinfo=own) == utc


def test_second_pass_of_the_repeated_hour_goes_out_in_utc() -> None:
    second = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 02:30 CET, after 02:30 CEST an hour earlier
    text = feed(meeting(starts_at=second, ends_at=second + timedelta(hours=1)))
    assert "DTSTART:20251026T013000Z\r\n" in text
    assert "DTEND;TZID=Europe/Amsterdam:20251026T033000\r\n" in text
    lenient, strict = parse_both(text)
    assert lenient.walk("VEVENT")[0].decoded("DTSTART") == second
    assert strict.events[0].dtstart == second


def test_confirmed_meeting() -> None:
    text = feed(meeting())
    assert "STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n" in text
    lenient, strict = parse_both(text)
    event = strict.events[0]
    assert event.summary == "Intervisie jeugdzorg"
    assert event.uid == "0b6f3c1e-6a43-4c1b-9d55-5e1f0c2b7a10@leerkring.nl"
    assert event.sequence == 3
    assert event.dtstamp == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert event.last_modified == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    assert event.location == "Stadhuis, zaal 3"
    assert event.url == "https://leerkring.nl/bijeenkomsten/42"
    assert event.organizer is not None
    assert event.organizer.uri == "mailto:zoe@vng.nl"
    assert event.organizer.common_name == "de Vries, Zoë"
    assert lenient.walk("VEVENT")[0]["ORGANIZER"].params["CN"] == "de Vries, Zoë"


def test_cancelled_meeting_in_feed_is_visible_everywhere() -> None:
    text = feed(meeting(status="cancelled", sequence=4))
    assert "SUMMARY:Geannuleerd: Intervisie jeugdzorg\r\n" in text
    assert "STATUS:CANCELLED\r\nTRANSP:TRANSPARENT\r\n" in text
    lenient, strict = parse_both(text)
    assert strict.events[0].status == "CANCELLED"
    assert strict.events[0].transparency == "TRANSPARENT"
    assert strict.events[0].sequence == 4
    assert lenient.walk("VEVENT")[0]["SUMMARY"] == "Geannuleerd: Intervisie jeugdzorg"


def test_cancelled_options() -> None:
    opaque = render_vevent(meeting(status="cancelled"), for_feed=True, transparent_when_cancelled=False)
    assert "TRANSP:OPAQUE\r\n" in opaque
    plain = render_vevent(meeting(status="cancelled"), for_feed=False)
    assert "SUMMARY:Intervisie jeugdzorg\r\n" in plain
    assert "STATUS:CANCELLED\r\n" in plain


def test_description_carries_the_links() -> None:
    _, strict = parse_both(feed(meeting()))
    assert strict.events[0].description == (
        "Agenda: casus bespreken.\n\n"
        "Online deelnemen: https://meet.example.nl/abc-def\n"
        "Meer informatie: https://leerkring.nl/bijeenkomsten/42"
    )
    bare = render_vevent(meeting(description="", url=None, online_url=None, location=None), for_feed=True)
    assert not {"DESCRIPTION", "URL", "LOCATION"} & set(vevent_props(bare))


def test_categories_are_escaped_and_separated() -> None:
    m = meeting(categories=("Jeugd; zorg", "Wmo, beschermd wonen", "a\\b", "", "  "))
    text = feed(m)
    assert "CATEGORIES:Jeugd\\; zorg,Wmo beschermd wonen,a\\\\b\r\n" in text
    lenient, strict = parse_both(text)
    assert strict.events[0].categories == ["Jeugd; zorg", "Wmo beschermd wonen", "a\\b"]
    categories: Any = lenient.walk("VEVENT")[0]["CATEGORIES"]
    assert [str(c) for c in categories.cats] == strict.events[0].categories


ATTACKS = [
    "Overleg\r\nATTENDEE:mailto:evil@x.nl",
    "a\nBEGIN:VEVENT",
    "a\rEND:VEVENT\rBEGIN:VEVENT\rUID:evil\rEND:VEVENT",
    "x\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM",
    "y\n SUMMARY:continued",
    'z"\r\nX-INJECT;A="b":c',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_injection_never_adds_properties_or_components(attack: str) -> None:
    m = meeting(
        title=attack,
        description=attack,
        location=attack,
        organizer_name=attack,
        categories=(attack,),
    )
    clean = feed(meeting())
    for text in (
        feed(m),
        render_imip(m, method="REQUEST", attendees=[Attendee(email="a@b.nl", name=attack)], dtstamp=SENT),
    ):
        assert_wire_format(text)
        lenient, strict = parse_both(text)
        assert len(lenient.walk("VEVENT")) == len(strict.events) == 1
        assert not lenient.walk("VALARM")
        assert lenient.walk("VEVENT")[0]["SUMMARY"] == re.sub("\r\n|\r", "\n", attack)
        assert strict.events[0].summary == re.sub("\r\n|\r", "\n", attack)
        assert len(strict.events[0].attendees) == (1 if "METHOD:REQUEST" in text else 0)
    assert sorted(vevent_props(feed(m))) == sorted(vevent_props(clean))


@pytest.mark.parametrize(
    "field",
    [
        {"uid": "abc\r\nATTENDEE:mailto:evil@x.nl"},
        {"uid": "abc\rdef"},
        {"uid": ""},
        {"url": "https://x.nl/\nBEGIN:VEVENT"},
        {"url": "https://x.nl/a b"},
        {"url": "javascript"},
        {"online_url": "https://x.nl/\r"},
        {"organizer_email": "zoe@vng.nl\r\nATTENDEE:mailto:evil@x.nl"},
        {"organizer_email": "not-an-address"},
    ],
)
def test_bad_non_text_values_are_refused(field: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"."):
        render_vevent(meeting(**field), for_feed=True)


def test_bad_attendee_address_is_refused() -> None:
    with pytest.raises(ValueError, match="control character"):
        render_imip(meeting(), method="REQUEST", attendees=[Attendee(email="a@b.nl\nx", name="A")], dtstamp=SENT)


def test_unicode_titles_fold_on_character_boundaries() -> None:
    title = "Leerkring 🎉 Zoë’s intervisie — 社会福祉の研修 👩‍👩‍👧 " * 4
    text = feed(meeting(title=title, description=title * 3, location="Café ’t Hoekje, Ëindhoven 中文"))
    assert_wire_format(text)
    lenient, strict = parse_both(text)
    assert strict.events[0].summary == title
    assert strict.events[0].description is not None
    assert strict.events[0].description.startswith(title * 3)
    assert lenient.walk("VEVENT")[0]["LOCATION"] == "Café ’t Hoekje, Ëindhoven 中文"


_TEXT = st.text(max_size=200)


@settings(max_examples=60, deadline=None)
@given(title=_TEXT, description=_TEXT, location=_TEXT, name=_TEXT)
def test_random_text_round_trips(title: str, description: str, location: str, name: str) -> None:
    m = meeting(title=title, description=description, location=location or None, url=None, online_url=None)
    text = render_imip(m, method="REQUEST", attendees=[Attendee(email="a@b.nl", name=name)], dtstamp=SENT)
    assert_wire_format(text)
    lenient, strict = parse_both(text)

    def norm(s: str) -> str:
        s = re.sub("\r\n|[\r\x85\u2028\u2029]", "\n", s)
        return re.sub("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", "", s)

    event = strict.events[0]
    assert event.summary == norm(title)
    assert (event.description or "") == norm(description)
    assert (event.location or "") == norm(location)
    assert len(event.attendees) == 1
    assert lenient.walk("VEVENT")[0]["SUMMARY"] == norm(title)


def test_output_is_byte_stable() -> None:
    meetings = [meeting(), meeting(uid="2@leerkring.nl", status="cancelled"), meeting(uid="3@x", timezone="Asia/Tokyo")]
    fragments = [render_vevent(m, for_feed=True) for m in meetings]
    again = [render_vevent(m, for_feed=True) for m in meetings]
    assert fragments == again
    first = render_feed("Kring", fragments, ["Asia/Tokyo", "Europe/Amsterdam", "Asia/Tokyo"])
    second = render_feed("Kring", again, ["Europe/Amsterdam", "Asia/Tokyo"])
    assert first == second
    header = feed_header("Kring", ["Europe/Amsterdam", "Asia/Tokyo"])
    assert header is feed_header("Kring", ["Asia/Tokyo", "Europe/Amsterdam"])
    assert assemble(header, fragments) == first.encode("utf-8")
    assert assemble(header, [f.encode() for f in fragments]) == first.encode("utf-8")


def test_empty_feed_is_valid() -> None:
    text = render_feed("Leeg", [], [])
    assert_wire_format(text)
    lenient, strict = parse_both(text)
    assert not strict.events
    assert lenient["X-WR-CALNAME"] == "Leeg"


def test_imip_request() -> None:
    text = render_imip(meeting(), method="REQUEST", attendees=ATTENDEES, dtstamp=SENT)
    assert_wire_format(text)
    assert "X-WR-CALNAME" not in text
    assert "METHOD:REQUEST\r\n" in text
    assert text.index("METHOD:REQUEST") < text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    assert "DTSTAMP:20250302T081500Z\r\n" in text
    assert "LAST-MODIFIED:20250301T093000Z\r\n" in text
    assert "STATUS:CONFIRMED\r\n" in text
    unfolded = text.replace("\r\n ", "")
    assert (
        'ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN="Jansen, Jan"'
        ":mailto:jan@gemeente.nl\r\n"
    ) in unfolded
    assert "PARTSTAT=ACCEPTED;RSVP=FALSE;CN=Els:mailto:els@gemeente.nl\r\n" in unfolded
    lenient, strict = parse_both(text)
    assert strict.method == "REQUEST"
    event = strict.events[0]
    assert [a.uri for a in event.attendees] == ["mailto:jan@gemeente.nl", "mailto:els@gemeente.nl"]
    assert event.attendees[0].common_name == "Jansen, Jan"
    assert event.attendees[0].rsvp is True
    assert event.dtstamp == SENT
    assert len(lenient.walk("VTIMEZONE")) == 1
    assert vevent_props(text).count("ORGANIZER") == 1


def test_imip_cancel() -> None:
    text = render_imip(meeting(sequence=5), method="CANCEL", attendees=ATTENDEES[:1], dtstamp=SENT)
    assert "METHOD:CANCEL\r\n" in text
    assert "STATUS:CANCELLED\r\n" in text
    assert "SEQUENCE:5\r\n" in text
    assert "Geannuleerd" not in text
    _, strict = parse_both(text)
    assert strict.method == "CANCEL"
    assert strict.events[0].status == "CANCELLED"
    same = render_imip(meeting(sequence=5, status="cancelled"), method="CANCEL", attendees=ATTENDEES[:1], dtstamp=SENT)
    assert same == text


def test_imip_dtstamp_is_written_in_utc() -> None:
    text = render_imip(
        meeting(), method="REQUEST", attendees=ATTENDEES, dtstamp=datetime(2025, 7, 1, 12, 0, tzinfo=AMS)
    )
    assert "DTSTAMP:20250701T100000Z\r\n" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "REQUEST", "attendees": (), "dtstamp": SENT}, "attendee"),
        ({"method": "REQUEST", "attendees": ATTENDEES, "dtstamp": datetime(2025, 3, 2)}, "aware"),  # noqa: DTZ001
        ({"method": "PUBLISH", "attendees": ATTENDEES, "dtstamp": SENT}, "method"),
    ],
)
def test_imip_refuses_invalid_messages(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_imip(meeting(), **kwargs)


def test_imip_will_not_request_a_cancelled_meeting() -> None:
    with pytest.raises(ValueError, match="CANCEL"):
        render_imip(meeting(status="cancelled"), method="REQUEST", attendees=ATTENDEES, dtstamp=SENT)


@pytest.mark.parametrize(
    "changes",
    [
        {"starts_at": datetime(2025, 3, 14, 14, 0)},  # noqa: DTZ001
        {"dtstamp": datetime(2025, 3, 1)},  # noqa: DTZ001
        {"ends_at": datetime(2025, 3, 14, 13, 0, tzinfo=AMS)},
        {"ends_at": datetime(2025, 3, 14, 14, 0, tzinfo=AMS)},
        {"ends_at": datetime(2025, 4, 14, 14, 0, tzinfo=AMS)},
        {"sequence": -1},
        {"timezone": "Mars/Olympus"},
        {"timezone": "Europe/Amsterdam\r\nX:y"},
    ],
)
def test_meeting_validation(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        meeting(**changes)
    raw = msgspec.to_builtins(meeting()) | msgspec.to_builtins(changes)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(raw, CalendarMeeting)
