"""Content-line primitives: escaping, quoting, value checks and folding, checked against both parsers."""

from __future__ import annotations

import itertools
import re

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from ical.event import Event

from services.calendar.text import check_value, content_line, escape_text, fold, quote_param

_SHELL = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nBEGIN:VEVENT\r\nUID:u-1\r\n"
    "DTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nDTEND:20250101T110000Z\r\n{lines}"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _normalised(s: str) -> str:
    """What a TEXT value should read as after escape_text and a parser: one kind of line break, no controls."""
    s = re.sub("\r\n|[\r\x85\u2028\u2029]", "\n", s)
    return re.sub("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", "", s)


def _physical_lines(text: str) -> list[str]:
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    assert all("\r" not in line and "\n" not in line for line in lines)
    return lines


def _parse_both(lines: str) -> tuple[icalendar.Event, Event]:
    text = _SHELL.format(lines=lines)
    ev = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert len(ev) == 1
    assert isinstance(ev[0], icalendar.Event)
    strict = IcsCalendarStream.calendar_from_ics(text).events
    assert len(strict) == 1
    return ev[0], strict[0]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("a\\b", "a\\\\b"),
        ("a\r\nb", "a\\nb"),
        ("a\rb", "a\\nb"),
        ("a\nb", "a\\nb"),
        ("a\r\n\r\nb", "a\\n\\nb"),
        ("a\n\rb", "a\\n\\nb"),
        ("tab\tstays", "tab\tstays"),
        ("a\x00b\x1bc\x7fd\x0ce", "abcde"),
        ("12:00 uur: Zoë’s ronde", "12:00 uur: Zoë’s ronde"),  # never escape ':'
        ("\\n is no newline", "\\\\n is no newline"),
        ("\ud83d\ude00", "😀"),  # UTF-16 halves from a JSON escape become one character
        ("x\ud83dy", "x\ufffdy"),  # a lone half cannot be UTF-8
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("Zoë", "Zoë"),
        ("NEEDS-ACTION", "NEEDS-ACTION"),
        ("de Vries, Zoë", '"de Vries, Zoë"'),
        ("a;b", '"a;b"'),
        ("mailto:x", '"mailto:x"'),
        ('Jan "JJ" Jansen', '"Jan JJ Jansen"'),
        ("Overleg\r\nATTENDEE:mailto:evil@x.nl", '"Overleg ATTENDEE:mailto:evil@x.nl"'),
        ("a\rb", '"a b"'),
        ("x^n", '"x^^n"'),  # RFC 6868 readers would turn a bare ^n into a newline
        ("", ""),
    ],
)
def test_quote_param(raw: str, quoted: str) -> None:
    assert quote_param(raw) == quoted


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\r\nb", "a\x00", "a\tb", "a\x7f", "a\u2028b", "a\x85b", "\ud800"])
def test_check_value_rejects_controls_and_line_breaks(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        check_value(bad)


def test_check_value_returns_clean_values_unchanged() -> None:
    assert check_value("https://leerkring.nl/m/1?a=b;c,d") == "https://leerkring.nl/m/1?a=b;c,d"


def test_content_line_refuses_unescaped_values() -> None:
    with pytest.raises(ValueError, match="SUMMARY"):
        content_line("SUMMARY", "Overleg\r\nATTENDEE:mailto:evil@x.nl")
    with pytest.raises(ValueError, match="SUMMARY"):
        content_line("SUMMARY", "a\rb")


def test_content_line_quotes_params_and_ends_in_crlf() -> None:
    line = content_line("ORGANIZER", "mailto:z@vng.nl", {"CN": "de Vries, Zoë", "ROLE": "CHAIR"})
    assert line == 'ORGANIZER;CN="de Vries, Zoë";ROLE=CHAIR:mailto:z@vng.nl\r\n'


def test_fold_ascii_boundaries() -> None:
    assert fold("x" * 75) == "x" * 75
    assert fold("x" * 76) == "x" * 75 + "\r\n x"
    assert fold("x" * 150) == "x" * 75 + "\r\n " + "x" * 74 + "\r\n x"


@pytest.mark.parametrize(
    ("char", "octets"),
    [("ë", 2), ("’", 3), ("中", 3), ("😀", 4)],
)
def test_fold_never_splits_a_utf8_sequence(char: str, octets: int) -> None:
    for pad in range(70, 76):  # put the character across the 75-octet boundary at every offset
        line = "S" * pad + char * 40
        lines = fold(line).split("\r\n")
        assert all(len(p.encode()) <= 75 for p in lines)
        assert "".join([lines[0], *(p[1:] for p in lines[1:])]) == line
        assert len(lines[0].encode()) > 75 - octets


def test_fold_keeps_combining_marks_and_emoji_sequences_together() -> None:
    family = "👩\u200d👩\u200d👧"
    for pad in range(60, 76):
        for tail in ("e\u0301" * 30, family * 6, "👍🏽" * 12, "🇳🇱" * 12):
            lines = fold("S" * pad + tail).split("\r\n")
            for prev, nxt in itertools.pairwise(lines):
                assert not nxt[1:].startswith(("\u0301", "\u200d", "🏽"))
                assert not prev.endswith("\u200d")


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_fold_round_trip_and_octet_limit(text: str) -> None:
    logical = "DESCRIPTION:" + escape_text(text)
    folded = fold(logical)
    lines = folded.split("\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    assert "".join([lines[0], *(line[1:] for line in lines[1:])]) == logical


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_escape_round_trips_through_both_parsers(text: str) -> None:
    lines = content_line("SUMMARY", escape_text(text)) + content_line("LOCATION", escape_text(text))
    for line in _physical_lines(lines):
        assert len(line.encode()) <= 75
    lenient, strict = _parse_both(lines)
    expected = _normalised(text)
    assert str(lenient["SUMMARY"]) == expected
    assert str(lenient["LOCATION"]) == expected
    assert strict.summary == expected
    assert strict.location == expected
    assert set(lenient) == {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION"}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_quoted_param_round_trips_through_both_parsers(name: str) -> None:
    lenient, strict = _parse_both(content_line("ORGANIZER", "mailto:z@vng.nl", {"CN": name}))
    spaced = re.sub("\r\n|[\r\n\x85\u2028\u2029]", " ", name)
    expected = re.sub('["\x00-\x08\x0a-\x1f\x7f\u202a-\u202e\u2066-\u2069]', "", spaced)
    assert lenient["ORGANIZER"].params.get("CN", "") == expected
    assert str(lenient["ORGANIZER"]) == "mailto:z@vng.nl"
    assert strict.organizer is not None
    assert (strict.organizer.common_name or "") == expected


@pytest.mark.parametrize(
    "attack",
    [
        "Overleg\r\nATTENDEE:mailto:evil@x.nl",
        "a\nBEGIN:VEVENT",
        "a\rEND:VEVENT\rBEGIN:VEVENT\rUID:evil",
        "x\r\n\tATTENDEE:mailto:evil@x.nl",
        "a\r\n BEGIN:VALARM",
        "a\\\nBEGIN:VEVENT",
    ],
)
def test_injection_stays_inside_the_value(attack: str) -> None:
    lines = content_line("SUMMARY", escape_text(attack))
    lenient, strict = _parse_both(lines + content_line("ORGANIZER", "mailto:z@vng.nl", {"CN": attack}))
    assert set(lenient) == {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"}
    assert str(lenient["SUMMARY"]) == _normalised(attack)
    assert strict.summary == _normalised(attack)
    assert not strict.attendees


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_unicode_line_ends_become_the_one_text_line_break(separator: str):
    assert escape_text(f"Regel een{separator}ATTENDEE:mailto:x@y.nl") == "Regel een\\nATTENDEE:mailto:x@y.nl"


def test_bidi_controls_are_dropped_from_text():
    # U+202E would show "Intervisie lmth.exe" reversed; embeddings and isolates likewise steer the display.
    spoof = "Intervisie \u202eexe.lmth\u202c \u2066x\u2069 \u202a\u202b\u202d"
    assert escape_text(spoof) == "Intervisie exe.lmth x "
