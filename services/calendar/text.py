"""RFC 5545 content-line primitives: TEXT escaping, parameter quoting, value checks and octet folding.

Everything that reaches an iCalendar line passes through here, so this is where ICS injection is stopped
(CONVENTIONS: user text may hold CR, LF or a lone CR; see CALENDAR-INTEROP A2-A4, A13-A15).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

CRLF = "\r\n"
_FOLD = "\r\n "  # CRLF + one space; unfolding removes exactly these three characters

# Characters that need any work in TEXT; checked first so plain titles cost one regex scan.
_TEXT_SPECIAL = re.compile("[\\\\;,\x00-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# RFC 5545 CONTROL is %x00-08 / %x0A-1F / %x7F; HTAB is the one control a value may hold.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_STRIP_FROM_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # applied after line breaks became LF
_SURROGATE = re.compile("[\ud800-\udfff]")
# U+0085, U+2028 and U+2029 are line ends to some parsers and renderers: they become the one line break TEXT has.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# Bidi embeddings, overrides and isolates can make a title read differently from what it says: dropped.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Non-TEXT values (UID, URI, mailto) get no escaping at all, so anything a parser or a mail client might read
# as a line end is refused outright, including U+0085/U+2028/U+2029 that str.splitlines() honours.
_NOT_IN_VALUE = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")

# RFC 5545 only requires quotes around , ; and :, but python-icalendar trims spaces before "=" in a bare value, so
# anything beyond word characters and a few URI-ish marks gets quotes; a quoted value means the same to everyone.
_PARAM_NEEDS_QUOTES = re.compile(r"[^\w./+@-]")  # bidi controls are not \w: they always reach the cleaning
_PARAM_DROP = re.compile('["\x00-\x08\x0a-\x1f\x7f]')
# RFC 6868 (read by icalendar, ical, Apple and Thunderbird) gives ^^, ^n and ^' a meaning inside parameter values;
# doubling only a caret that would start one of those keeps "a^b" readable for clients that ignore RFC 6868.
_CARET = re.compile("\\^(?=[n'^])")

_ZWJ = 0x200D
# How far fold() may back off to avoid starting a continuation line with a combining mark; bounded so a long run
# of marks still folds (the split is legal either way, this only spares renderers that draw each line alone).
_MAX_BACKOFF = 24


def _repair_surrogates(s: str) -> str:
    # A str may carry UTF-16 halves (e.g. from JSON "\ud83d\ude00" escapes); pairs become the real character,
    # lone halves become U+FFFD, because neither can be written as UTF-8.
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def escape_text(s: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and every line break; drop other controls but HTAB."""
    if not _TEXT_SPECIAL.search(s):
        return s
    if _SURROGATE.search(s):
        s = _repair_surrogates(s)
    s = s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    s = _LINE_BREAK.sub("\n", s)
    s = _BIDI_CONTROLS.sub("", _STRIP_FROM_TEXT.sub("", s))
    return s.replace("\n", "\\n")


def quote_param(s: str) -> str:
    """Encode a parameter value, DQUOTEd when it holds , ; : or spaces (DQUOTE and controls are dropped)."""
    if not _PARAM_NEEDS_QUOTES.search(s):
        return s
    if _SURROGATE.search(s):
        s = _repair_surrogates(s)
    # A name split over lines stays readable as one line; there is no TEXT escaping inside parameters.
    s = _LINE_BREAK.sub(" ", s)
    s = _BIDI_CONTROLS.sub("", _PARAM_DROP.sub("", s))
    s = _CARET.sub("^^", s)
    return f'"{s}"' if _PARAM_NEEDS_QUOTES.search(s) else s


def check_value(s: str) -> str:
    """Return a non-TEXT value (UID, URI, mailto) unchanged; raises ValueError on controls or line breaks."""
    if _NOT_IN_VALUE.search(s):
        raise ValueError(f"control character or line break in iCalendar value {s!r}")
    return s


def _clings(ch: str) -> bool:
    # Marks, joiners, variation selectors, skin tones and emoji tags belong to the character before them.
    o = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or o == _ZWJ
        or 0xFE00 <= o <= 0xFE0F
        or 0x1F3FB <= o <= 0x1F3FF
        or 0xE0020 <= o <= 0xE007F
    )


def _char_at(data: bytes, i: int) -> str:
    return data[i : i + 4].decode("utf-8", "ignore")[:1]


def _char_before(data: bytes, i: int) -> str:
    j = i - 1
    while data[j] & 0xC0 == 0x80:
        j -= 1
    return data[j:i].decode("utf-8")


def _bad_break(data: bytes, i: int) -> bool:
    nxt = _char_at(data, i)
    prev = _char_before(data, i)
    if not nxt or not prev:
        return False
    regional = 0x1F1E6 <= ord(prev) <= 0x1F1FF and 0x1F1E6 <= ord(nxt) <= 0x1F1FF
    return regional or ord(prev) == _ZWJ or _clings(nxt)


def _soft_cut(data: bytes, start: int, cut: int) -> int:
    i = cut
    while i > start + 1 and cut - i < _MAX_BACKOFF:
        if not _bad_break(data, i):
            return i
        i -= 1
        while data[i] & 0xC0 == 0x80:  # step back one whole character, never into its middle
            i -= 1
    return cut


def fold(line: str) -> str:
    """Fold a logical line into physical lines of at most 75 octets, never inside a UTF-8 sequence."""
    if line.isascii():
        if len(line) <= 75:
            return line
        return _FOLD.join([line[:75], *(line[i : i + 74] for i in range(75, len(line), 74))])
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    start, limit = 0, 75
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: move back to the start of its character
            cut -= 1
        cut = _soft_cut(data, start, cut)
        parts.append(data[start:cut].decode("utf-8"))
        start, limit = cut, 74  # continuation lines spend one octet on the leading space
    parts.append(data[start:].decode("utf-8"))
    return _FOLD.join(parts)


def content_line(name: str, value: str, params: Mapping[str, str] | None = None) -> str:
    """Build one folded content line ending in CRLF; value must already be escaped or checked.

    Parameter values are raw and get quote_param() here. Raises ValueError if value still holds a control
    character other than HTAB, the last guard against a caller that forgot to escape.
    """
    if _CONTROL.search(value):
        raise ValueError(f"unescaped control character in {name} value")
    if params:
        head = name + "".join(f";{key}={quote_param(val)}" for key, val in params.items())
        return fold(f"{head}:{value}") + CRLF
    return fold(f"{name}:{value}") + CRLF
