"""The evaluation mail of a block, rendered once per variant and personalised by substitution.

compose_notice renders two Jinja templates per call, and of what goes in only the name and three links differ
between the people of one meeting; rendering per recipient was about a tenth of the worker's CPU per mail. Here a
variant (kind, language, whether there is a name, which personal links) is rendered once with unguessable slot
tokens in place of the personal parts, and each mail substitutes its own values: as given in the text part,
HTML-escaped in the HTML part, exactly as the templates would have written them (tests/unit/
test_evaluation_notices.py compares both ways for hostile names and links).
"""

from __future__ import annotations

import re
import secrets

import msgspec
from markupsafe import escape

from services.calendar import CalendarMeeting
from services.invitations.compose import Action, Links, Notice, Recipient, compose_notice, header_text
from services.invitations.messages import Locale, NoticeKind, Strings

# A per-process nonce, so that no meeting title or description can contain a slot and be substituted.
_NONCE = secrets.token_hex(8)
_NAME = f"lkslot{_NONCE}name"
# URL-shaped, so that they take the same path through the templates as real links.
_FORM, _MANAGE, _FEED, _WEBCAL = (f"https://{_NONCE}.invalid/{part}" for part in ("form", "manage", "feed", "webcal"))
# Split with the slot captured: the odd pieces are slots, the even ones literal text.
_SLOT = re.compile("(" + "|".join(re.escape(s) for s in (_NAME, _FORM, _MANAGE, _FEED, _WEBCAL)) + ")")

_Variant = tuple[NoticeKind, Locale, bool, bool, bool, bool]


class _Rendered(msgspec.Struct, frozen=True):
    subject: str
    text: list[str]
    html: list[str]


def _fill(pieces: list[str], values: dict[str, str]) -> str:
    return "".join(values[piece] if n % 2 else piece for n, piece in enumerate(pieces))


class EvaluationNotices:
    """The evaluation mails about one meeting, with the form's deadline per language."""

    def __init__(self, meeting: CalendarMeeting, deadlines: dict[Locale, str]) -> None:
        self.meeting = meeting
        self.deadlines = deadlines
        self._rendered: dict[_Variant, _Rendered] = {}

    def notice(self, kind: NoticeKind, to: Recipient, *, form_url: str, links: Links) -> Notice:
        """What compose_notice(kind, to, ...) with the form button and these links would return."""
        name = header_text(to.name, 120)
        variant = (kind, to.locale, bool(name), bool(links.manage), bool(links.feed), bool(links.feed_webcal))
        rendered = self._rendered.get(variant)
        if rendered is None:
            rendered = self._rendered[variant] = self._render(variant)
        values = {_NAME: name, _FORM: form_url, _MANAGE: links.manage or "", _FEED: links.feed or "",
                  _WEBCAL: links.feed_webcal or ""}  # fmt: skip
        escaped = {slot: str(escape(value)) for slot, value in values.items()}
        return Notice(subject=rendered.subject, text=_fill(rendered.text, values), html=_fill(rendered.html, escaped))

    def _render(self, variant: _Variant) -> _Rendered:
        kind, locale, named, manage, feed, webcal = variant
        slots = Links(manage=_MANAGE if manage else None, feed=_FEED if feed else None,
                      feed_webcal=_WEBCAL if webcal else None)  # fmt: skip
        notice = compose_notice(
            kind,
            Recipient(email="slot@invalid", name=_NAME if named else "", locale=locale),
            meeting=self.meeting,
            links=slots,
            actions=[Action(label=Strings(locale).button_evaluation, url=_FORM)],
            facts={"deadline": self.deadlines[locale]},
        )
        return _Rendered(notice.subject, _SLOT.split(notice.text), _SLOT.split(notice.html))
