"""The words of invitation mails in Dutch and English, and dates the way people in each language write them.

Kept as plain tables until the project has gettext catalogs; the templates only ever see `t.<key>`, so moving the
strings into catalogs later touches this file alone. Dutch is the default for everybody whose locale is not "en".
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Locale = Literal["nl", "en"]
Kind = Literal["invitation", "confirmation", "update", "cancellation", "registration_cancelled"]

_NL_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_NL_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Everything a template or the subject line may ask for, per locale.
STRINGS: dict[Locale, dict[str, str]] = {
    "nl": {
        "subject_invitation": "Uitnodiging: {title}",
        "subject_confirmation": "Inschrijving bevestigd: {title}",
        "subject_update": "Gewijzigd: {title}",
        "subject_cancellation": "Geannuleerd: {title}",
        "subject_registration_cancelled": "Afgemeld: {title}",
        "greeting": "Beste {name},",
        "greeting_anonymous": "Beste collega,",
        "intro_invitation": "{organiser} nodigt je uit voor deze collegiale leerbijeenkomst.",
        "intro_confirmation": "Je inschrijving is bevestigd. Je bent van harte welkom.",
        "intro_update": "De bijeenkomst is gewijzigd. Je agenda wordt bijgewerkt.",
        "intro_cancellation": "Deze bijeenkomst gaat helaas niet door. Ze verdwijnt uit je agenda.",
        "intro_registration_cancelled": "Je inschrijving is geannuleerd. De bijeenkomst verdwijnt uit je agenda.",
        "note_heading": "Bericht van de organisator",
        "changes_heading": "Wat is er veranderd",
        "reason_heading": "Reden",
        "when": "Wanneer",
        "where": "Waar",
        "online": "Online",
        "about": "Over de bijeenkomst",
        "organiser": "Organisator",
        "register": "Ja, ik schrijf me in",
        "decline": "Nee, ik kom niet",
        "cancel_registration": "Afmelden",
        "actions_invitation": "Laat weten of je komt:",
        "actions_confirmation": "Kun je toch niet? Meld je dan af, zodat iemand anders je plek krijgt:",
        "more": "Meer informatie",
        "feed": "Je persoonlijke agenda-abonnement",
        "links_expire": "Deze links zijn persoonlijk en werken tot het begin van de bijeenkomst.",
        "calendar_hint": "Je agenda-programma toont deze mail als uitnodiging; "
        "zo staat de bijeenkomst meteen in je agenda.",
        "footer": "Je ontvangt deze mail via Leerkring, "
        "het platform voor collegiale leerbijeenkomsten van {organiser}.",
        "field_time": "Tijd",
        "field_location": "Locatie",
        "field_online": "Online link",
        "none": "geen",
        "local_time": "Nederlandse tijd",
        "timezone": "tijdzone {zone}",
        "to": "tot",
    },
    "en": {
        "subject_invitation": "Invitation: {title}",
        "subject_confirmation": "Registration confirmed: {title}",
        "subject_update": "Updated: {title}",
        "subject_cancellation": "Cancelled: {title}",
        "subject_registration_cancelled": "Registration cancelled: {title}",
        "greeting": "Dear {name},",
        "greeting_anonymous": "Dear colleague,",
        "intro_invitation": "{organiser} invites you to this peer learning meeting.",
        "intro_confirmation": "Your registration is confirmed. You are very welcome.",
        "intro_update": "The meeting has changed. Your calendar will be updated.",
        "intro_cancellation": "Unfortunately this meeting has been cancelled. It will disappear from your calendar.",
        "intro_registration_cancelled": "Your registration has been cancelled. The meeting will leave your calendar.",
        "note_heading": "Message from the organiser",
        "changes_heading": "What changed",
        "reason_heading": "Reason",
        "when": "When",
        "where": "Where",
        "online": "Online",
        "about": "About the meeting",
        "organiser": "Organiser",
        "register": "Yes, register me",
        "decline": "No, I will not attend",
        "cancel_registration": "Cancel my registration",
        "actions_invitation": "Let us know whether you will attend:",
        "actions_confirmation": "Can't make it after all? Cancel, so someone else gets your seat:",
        "more": "More information",
        "feed": "Your personal calendar subscription",
        "links_expire": "These links are personal and work until the meeting starts.",
        "calendar_hint": "Your calendar program shows this e-mail as an invitation, "
        "so the meeting lands in your calendar.",
        "footer": "You receive this e-mail through Leerkring, the platform for peer learning meetings of {organiser}.",
        "field_time": "Time",
        "field_location": "Location",
        "field_online": "Online link",
        "none": "none",
        "local_time": "Dutch time",
        "timezone": "time zone {zone}",
        "to": "to",
    },
}


class Strings:
    """Attribute access to one locale's table, for templates (`t.register`)."""

    def __init__(self, locale: Locale) -> None:
        self.locale: Locale = locale
        self._table = STRINGS[locale]

    def __getattr__(self, key: str) -> str:
        try:
            return self._table[key]
        except KeyError:
            raise AttributeError(key) from None

    def get(self, key: str, **values: str) -> str:
        return self._table[key].format(**values) if values else self._table[key]


def pick_locale(value: str | None) -> Locale:
    return "en" if value == "en" else "nl"


def _day(value: datetime, locale: Locale) -> str:
    if locale == "en":
        return f"{_EN_DAYS[value.weekday()]} {value.day} {_EN_MONTHS[value.month - 1]} {value.year}"
    return f"{_NL_DAYS[value.weekday()]} {value.day} {_NL_MONTHS[value.month - 1]} {value.year}"


def format_when(starts_at: datetime, ends_at: datetime, timezone: str, locale: Locale) -> str:
    """'donderdag 14 maart 2025, 14:00–16:00 (Nederlandse tijd)', in the meeting's own zone."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    t = STRINGS[locale]
    label = t["local_time"] if timezone == "Europe/Amsterdam" else t["timezone"].format(zone=timezone)
    if start.date() == end.date():
        return f"{_day(start, locale)}, {start:%H:%M}–{end:%H:%M} ({label})"
    return f"{_day(start, locale)} {start:%H:%M} {t['to']} {_day(end, locale)} {end:%H:%M} ({label})"
