"""Per-meeting VEVENT fragments: rendered once per meeting revision by a worker, joined verbatim by feeds.

A feed request never renders (services/calendar costs far more than a join); it reads the bytes stored here.
Every fragment write also marks the feeds the meeting leaves and enters (feed_changes), which bumps the generation
that API processes poll to drop stale cached bodies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr
from uuid import UUID

import msgspec

from services.calendar import CalendarMeeting, meeting_uid, render_vevent
from services.db import Connection
from services.feeds import queries as q
from services.feeds import windows
from services.feeds.queries import MeetingSource, NewFragment, StoredFragment
from services.settings import Settings

log = logging.getLogger(__name__)

# Raise when the rendering of fragments changes: the sweep then re-renders every fragment still in a feed.
# 2: descriptions in feeds are cut at FEED_DESCRIPTION_CHARS; fragments know their organising and funding bodies.
# 3: the online link only in the confirmed participant's variant (vevent_confirmed), never in shared feeds.
RENDER_VERSION = 3
ORGANIZER_FALLBACK = "Leerkring"
# The stale-fragment sweep is a safety net behind the jobs, so it need not scan every second (workers/sweeps.py).
SWEEP_INTERVAL = 30.0
# Personal feeds show a place on the waiting list, or a seat held for someone, as a tentative appointment.
WAITLISTED_PREFIX = "Wachtlijst: "
OFFERED_PREFIX = "Plek aangeboden: "
# A description may hold 20,000 characters; a feed entry shows the start of it (its "Meer informatie" link leads to
# the rest), so one long text cannot take a feed past the size calendars accept. Mails keep the whole text.
FEED_DESCRIPTION_CHARS = 500
ELLIPSIS = " …"
_CONFIRMED_LINE = "\r\nSTATUS:CONFIRMED\r\n"
_OPAQUE_LINE = "\r\nTRANSP:OPAQUE\r\n"


def cutoff(now: datetime | None = None) -> datetime:
    """The oldest end a fragment may have and still be in some feed: the stale-fragment sweep looks no further."""
    return windows.today(now) - windows.MAX_BACK


def render_key(base_url: str, organizer: str) -> str:
    """What a fragment's text depends on besides the meeting: the base URL of its links and the ORGANIZER address."""
    return f"{base_url.rstrip('/')} {organizer}"


def feed_description(text: str) -> str:
    """The start of a description, cut at a word within FEED_DESCRIPTION_CHARS characters."""
    if len(text) <= FEED_DESCRIPTION_CHARS:
        return text
    cut = text[: FEED_DESCRIPTION_CHARS - len(ELLIPSIS)]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > FEED_DESCRIPTION_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def meeting_url(base_url: str, meeting_id: UUID) -> str:
    return f"{base_url.rstrip('/')}/bijeenkomsten/{meeting_id}"


def organizer_email(settings: Settings) -> str:
    """The ORGANIZER address calendars reply to: the inbound reply mailbox when there is one."""
    return settings.reply_address or parseaddr(settings.mail_from)[1] or "noreply@leerkring.local"


def _location(src: MeetingSource) -> str | None:
    parts = [p.strip() for p in (src.venue_name, src.venue_address, src.venue_city) if p and p.strip()]
    if parts:
        return ", ".join(parts)
    return "Online" if src.online_url else None


def to_calendar_meeting(src: MeetingSource, *, base_url: str, organizer: str) -> CalendarMeeting:
    """The meeting as calendars see it, the same in feeds and invitations. Raises ValueError for unusable data."""
    return CalendarMeeting(
        uid=meeting_uid(src.id),
        sequence=src.sequence,
        dtstamp=src.updated_at,
        starts_at=src.starts_at,
        ends_at=src.ends_at,
        timezone=src.timezone,
        title=src.title,
        description=src.description,
        location=_location(src),
        url=meeting_url(base_url, src.id),
        online_url=src.online_url,
        status="cancelled" if src.status == "cancelled" else "confirmed",
        organizer_name=src.organiser_name or ORGANIZER_FALLBACK,
        organizer_email=organizer,
        categories=tuple(src.theme_names),
    )


def _tentative(m: CalendarMeeting, prefix: str) -> bytes:
    text = render_vevent(msgspec.structs.replace(m, title=prefix + m.title), for_feed=True)
    # The renderer writes these two property lines verbatim and unfolded; user text can never contain a bare CRLF
    # followed by them (TEXT is escaped, folded lines continue with a space), so this swap is exact.
    if text.count(_CONFIRMED_LINE) != 1 or text.count(_OPAQUE_LINE) != 1:
        raise ValueError("unexpected VEVENT layout; cannot derive the tentative variant")
    text = text.replace(_CONFIRMED_LINE, "\r\nSTATUS:TENTATIVE\r\n").replace(_OPAQUE_LINE, "\r\nTRANSP:TRANSPARENT\r\n")
    return text.encode()


def content_hash(*parts: bytes | None) -> int:
    """A signed 64-bit digest of the texts, as PostgreSQL's bigint (and bit_xor) wants it."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(b"\x00" if part is None else len(part).to_bytes(4, "big") + part)
    return int.from_bytes(h.digest(), "big", signed=True)


def render_fragment(src: MeetingSource, *, base_url: str, organizer: str) -> NewFragment:
    """Render the feed text and the personal-feed variants of one meeting. Raises ValueError for unusable data.

    The shared text (and the waiting-list and offer variants) leave the online link out; a confirmed seat's variant
    carries it, and exists only when there is a link (personal feeds fall back to the shared text)."""
    full = to_calendar_meeting(src, base_url=base_url, organizer=organizer)
    full = msgspec.structs.replace(full, description=feed_description(full.description))
    m = msgspec.structs.replace(full, online_url=None)
    vevent = render_vevent(m, for_feed=True).encode()
    cancelled = m.status == "cancelled"
    waitlisted = None if cancelled else _tentative(m, WAITLISTED_PREFIX)
    offered = None if cancelled else _tentative(m, OFFERED_PREFIX)
    confirmed = None if cancelled or not full.online_url else render_vevent(full, for_feed=True).encode()
    return NewFragment(
        meeting_id=src.id,
        revision=src.revision,
        sequence=src.sequence,
        render_version=RENDER_VERSION,
        cancelled=cancelled,
        starts_at=src.starts_at,
        ends_at=src.ends_at,
        tzid=src.timezone,
        themes=sorted(set(src.themes)),
        audience_groups=sorted(set(src.audience_groups)),
        audience_codes=sorted(set(src.audience_organisations) | set(src.audience_regions)),
        body_codes=sorted(set(src.organiser_codes) | set(src.funder_codes)),
        listed=src.listed,
        rendered_for=render_key(base_url, organizer),
        vevent=vevent,
        vevent_waitlisted=waitlisted,
        vevent_offered=offered,
        vevent_confirmed=confirmed,
        content_hash=content_hash(vevent, waitlisted, offered, confirmed),
        dtstamp=src.updated_at,
    )


def feed_keys(
    themes: Sequence[str],
    groups: Sequence[str],
    codes: Sequence[str],
    bodies: Sequence[str] = (),
    *,
    listed: bool = True,
) -> set[str]:
    """The feed_changes keys of every shared feed a fragment with this membership appears in (a meeting off the
    agenda: none)."""
    if not listed:
        return set()
    keys = {"public", *(f"theme:{t}" for t in themes), *(f"body:{b}" for b in bodies)}
    keys |= {f"group:{g}" for g in groups} if groups else {"group:*"}
    keys |= {f"aud:{c}" for c in codes} if codes else {"aud:*"}
    return keys


def _keys_of(f: StoredFragment | NewFragment) -> set[str]:
    return feed_keys(f.themes, f.audience_groups, f.audience_codes, f.body_codes, listed=f.listed)


async def refresh_fragment(conn: Connection, meeting_id: UUID, *, base_url: str, organizer: str) -> bool:
    """Bring one meeting's fragment up to date with the meeting; True when a feed changed.

    Idempotent and safe to run concurrently (writers for one meeting are serialised, and an older revision never
    replaces a newer one). Runs in its own transaction (a savepoint inside the caller's). Raises ValueError when
    the meeting cannot be rendered.
    """
    async with conn.transaction():
        old = await q.lock_fragment(conn, meeting_id)
        src = await q.meeting_source(conn, meeting_id)
        if src is None or not src.public:
            if old is None:
                return False
            await q.delete_fragment(conn, meeting_id)
            await q.mark_changed(conn, _keys_of(old))
            return True
        key = render_key(base_url, organizer)
        if (
            old is not None
            and (old.revision, old.render_version) >= (src.revision, RENDER_VERSION)
            and old.rendered_for == key
        ):
            return False
        new = render_fragment(src, base_url=base_url, organizer=organizer)
        await q.upsert_fragment(conn, new)
        if old is not None and old.content_hash == new.content_hash and _keys_of(old) == _keys_of(new):
            return False  # same text, same feeds: nothing for clients to fetch again
        await q.mark_changed(conn, _keys_of(new) | (_keys_of(old) if old is not None else set()))
        return True


async def refresh_stale_fragments(conn: Connection, settings: Settings, *, limit: int = 200) -> int:
    """Render fragments that are missing or behind their meeting (lost jobs, backfill, a new RENDER_VERSION).

    A worker sweep (workers/sweeps.py, every SWEEP_INTERVAL seconds) with the worker's own settings, so it renders
    with the same base_url as the jobs. Returns how many meetings it rendered. Each meeting gets its own savepoint,
    so one that cannot be rendered is logged and skipped (and tried again next time).
    """
    organizer = organizer_email(settings)
    done = 0
    key = render_key(settings.base_url, organizer)
    for meeting_id in await q.stale_meetings(conn, cutoff(), RENDER_VERSION, key, limit):
        try:
            await refresh_fragment(conn, meeting_id, base_url=settings.base_url, organizer=organizer)
            done += 1
        except ValueError:
            log.exception("cannot render the calendar fragment of meeting %s", meeting_id)
    return done
