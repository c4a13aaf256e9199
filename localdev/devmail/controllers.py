"""GET /dev/mail: what would have been sent. Development only (create_app leaves it out in production).

Lists the .eml files under var/mail — written by the SMTP sink that `leerkring run` starts, or by
the worker's file mailer when no SMTP server is configured — newest first (times in Dutch local time), with a view
of each and, for a mail with a calendar part, a readable view of that part (method, times in local time, place).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from html import escape
from pathlib import Path

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from services.dates import DUTCH_ZONE, format_when, moment
from services.errors import NotFound
from services.settings import Settings

_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,200}\.eml$")
_LIMIT = 200
_HEAD_BYTES = 64 * 1024
# The mail's HTML is shown as is, in a sandbox: no scripts, no forms, nothing it loads can act for us.
_SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>E-mail (ontwikkelomgeving) – Leerkring</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}
th,td{{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}}
th{{background:#f4f4f4}}.meta{{color:#555}}</style></head>
<body><h1>Verstuurde e-mail</h1>
<p class="meta">Ontwikkelomgeving: deze berichten zijn niet echt verstuurd maar bewaard in <code>{folder}</code>.
{summary}</p>
<table><thead><tr><th>Ontvangen (Nederlandse tijd)</th><th>Aan</th><th>Onderwerp</th><th>Bekijken</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>
"""


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    received: datetime
    to: str
    subject: str
    calendar: bool


def _maildir(state: State) -> Path:
    settings: Settings = state.settings
    return settings.var_dir / "mail"


def _scan(folder: Path) -> tuple[list[_Entry], int]:
    if not folder.is_dir():
        return [], 0
    files = [p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file()]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    parser = BytesHeaderParser(policy=email.policy.default)
    entries = []
    for path in files[:_LIMIT]:
        with path.open("rb") as fh:
            headers = parser.parsebytes(fh.read(_HEAD_BYTES))
        entries.append(
            _Entry(
                name=path.name,
                received=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                to=str(headers.get("To", "")),
                subject=str(headers.get("Subject", "")),
                calendar=b"text/calendar" in path.read_bytes()[: _HEAD_BYTES * 4],
            )
        )
    return entries, len(files)


def _load(folder: Path, name: str) -> bytes:
    path = folder / name
    if not _NAME.match(name) or not path.is_file():
        raise NotFound("Dit bericht bestaat niet (meer)")
    return path.read_bytes()


def _calendar(raw: bytes) -> str | None:
    """The calendar part as a person reads it: what it does (METHOD), what, when in local time, where, who."""
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    part = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
    if part is None:
        return None
    from icalendar import Calendar  # development page only: keep the import out of the API's start

    calendar = Calendar.from_ical(part.get_content())
    lines = [f"METHOD: {calendar.get('METHOD', '(geen)')}"]
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND", None)
        zone = str(getattr(start, "tzinfo", None) or DUTCH_ZONE)
        when = format_when(start, end, zone if "/" in zone else DUTCH_ZONE) if end else moment(start)
        lines += [
            "",
            f"Wat:        {event.get('SUMMARY', '')}",
            f"Wanneer:    {when}",
            f"Waar:       {event.get('LOCATION', '')}",
            f"Status:     {event.get('STATUS', '')}",
            f"UID:        {event.get('UID', '')}   SEQUENCE: {event.get('SEQUENCE', 0)}",
            f"Organisator: {event.get('ORGANIZER', '')}",
        ]
        attendees = event.get("ATTENDEE", [])
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            lines.append(f"Genodigde:  {attendee} ({attendee.params.get('PARTSTAT', '')})")
    return "\n".join(lines) + "\n"


def _part(raw: bytes, subtype: str) -> str | None:
    message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=(subtype,))
    return None if body is None else str(body.get_content())


class DevMailController(Controller):
    path = "/dev/mail"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def list_mail(self, state: State) -> str:
        folder = _maildir(state)
        entries, total = await asyncio.to_thread(_scan, folder)
        rows = "".join(
            f"<tr><td>{moment(e.received)}:{e.received:%S}</td><td>{escape(e.to)}</td><td>{escape(e.subject)}</td>"
            f'<td><a href="/dev/mail/{e.name}/text">tekst</a> · <a href="/dev/mail/{e.name}/html">HTML</a> · '
            + (f'<a href="/dev/mail/{e.name}/agenda">agenda</a> · ' if e.calendar else "")
            + f'<a href="/dev/mail/{e.name}">bron</a></td></tr>'
            for e in entries
        )
        if total == 0:
            summary = "Nog geen berichten."
        elif total > len(entries):
            summary = f"De nieuwste {len(entries)} van {total} berichten."
        else:
            summary = f"{total} bericht{'en' if total != 1 else ''}, nieuwste eerst."
        return _PAGE.format(folder=escape(str(folder)), summary=summary, rows=rows)

    @get("/{name:str}", media_type=MediaType.TEXT)
    async def raw_mail(self, state: State, name: FromPath[str]) -> bytes:
        """The message as it went over the wire."""
        return await asyncio.to_thread(_load, _maildir(state), name)

    @get("/{name:str}/text", media_type=MediaType.TEXT)
    async def text_mail(self, state: State, name: FromPath[str]) -> str:
        raw = await asyncio.to_thread(_load, _maildir(state), name)
        return _part(raw, "plain") or "(dit bericht heeft geen tekstdeel)"

    @get("/{name:str}/html")
    async def html_mail(self, state: State, name: FromPath[str]) -> Response[str]:
        raw = await asyncio.to_thread(_load, _maildir(state), name)
        html = _part(raw, "html")
        if html is None:
            raise NotFound("Dit bericht heeft geen HTML-deel")
        return Response(html, media_type=MediaType.HTML, headers={"Content-Security-Policy": _SANDBOX})

    @get("/{name:str}/agenda", media_type=MediaType.TEXT)
    async def calendar_mail(self, state: State, name: FromPath[str]) -> str:
        """The calendar part, readable: the times in Dutch local time, the method, who is invited."""
        raw = await asyncio.to_thread(_load, _maildir(state), name)
        text = _calendar(raw)
        if text is None:
            raise NotFound("Dit bericht heeft geen agenda-deel")
        return text
