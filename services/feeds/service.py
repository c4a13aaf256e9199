"""Feeds: which meetings a feed holds, its name, and assembling it from stored fragments (never rendering).

Shared feeds (public, theme, organisation, professional group) are cached per process (services/feeds/cache.py);
a personal feed is one indexed query plus a join on every request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from typing import Literal

from services.calendar import assemble, feed_header
from services.db import Connection, Pool
from services.feeds import queries as q
from services.feeds import windows
from services.feeds.cache import FeedCache, FeedSpec, SharedFeed, Token
from services.feeds.queries import FeedFilter, FeedVersion
from services.feeds.respond import (
    SHARED_CACHE_CONTROL,
    Representation,
    http_seconds,
    make_etag,
)
from services.meetings.queries import audience_codes_for

FeedKind = Literal["public", "themes", "groups", "organisations"]

# Raise FORMAT with any change to how feeds are put together outside the fragments (header, order); FORMAT_SINCE
# is when that happened, so Last-Modified never predates the bytes a client gets.
# 2: windows per feed kind (services/feeds/windows.py). A feed that lost meetings by the narrower windows must not
# answer 304 to an If-Modified-Since from before, so its Last-Modified is at least the moment this was made.
FORMAT = 2
FORMAT_SINCE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
APP = "Leerkring"
DASH = " – "
SHARED_DESCRIPTION = (
    "Collegiale leerbijeenkomsten in het sociaal domein. Agenda-apps halen wijzigingen zelf op, "
    "meestal binnen enkele uren; Google Agenda soms pas na een dag."
)
TRAILER = len(b"END:VCALENDAR\r\n")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")

# Which feed fits which need, for the subscribe links (Dutch; the window follows in FeedLinks.window).
ABOUT_PUBLIC = (
    "Alle bijeenkomsten van Leerkring die binnenkort zijn. Kies deze om te zien wat er de komende weken te doen is; "
    "wil je verder vooruit kijken, neem dan een thema-agenda."
)
ABOUT_THEME = "De bijeenkomsten over één thema, maanden vooruit. Kies deze als je een onderwerp wilt volgen."
ABOUT_GROUP = (
    "De bijeenkomsten voor één beroepsgroep en die voor iedereen, de komende weken. "
    "Kies deze als je wilt zien wat er voor jouw vak is."
)
ABOUT_AUDIENCE = "De bijeenkomsten voor medewerkers van deze gemeente of regio en die voor iedereen, de komende weken."
ABOUT_BODY = (
    "De bijeenkomsten die door deze organisatie georganiseerd of gefinancierd worden. "
    "Kies deze als je het programma van je eigen organisatie volgt."
)

PUBLIC = FeedSpec(
    path="public",
    name=f"{APP}{DASH}alle bijeenkomsten",
    filter=FeedFilter(),
    window=windows.WIDE,
    about=ABOUT_PUBLIC,
    change_keys=("public",),
)


def valid_ident(kind: FeedKind, ident: str) -> bool:
    if kind == "public":
        return ident == ""
    pattern = _CODE if kind == "organisations" else _SLUG
    return len(ident) <= 60 and pattern.fullmatch(ident) is not None


def parse_feed_ref(ref: str) -> tuple[FeedKind | None, str]:
    """'public', 'themes/{slug}', 'groups/{slug}' or 'organisations/{code}' as (kind, ident); kind None if neither."""
    kind, _, ident = ref.partition("/")
    if kind == "public" and not ident:
        return "public", ""
    if kind in ("themes", "groups"):
        return kind, ident  # type: ignore[return-value]
    if kind == "organisations":
        return "organisations", ident.upper()
    return None, ident


async def resolve_spec(conn: Connection, kind: FeedKind, ident: str) -> FeedSpec | None:
    """The feed for a kind and slug/code, or None when it does not exist."""
    if kind == "public":
        return PUBLIC
    if not valid_ident(kind, ident):
        return None
    if kind == "themes":
        name = await conn.fetchval("SELECT name FROM themes WHERE slug = $1", ident)
        if name is None:
            return None
        return FeedSpec(
            path=f"themes/{ident}",
            name=f"{APP}{DASH}thema {name}",
            filter=FeedFilter(theme=ident),
            window=windows.THEME,
            about=ABOUT_THEME,
            change_keys=(f"theme:{ident}",),
        )
    if kind == "groups":
        name = await conn.fetchval("SELECT name FROM professional_groups WHERE slug = $1", ident)
        if name is None:
            return None
        return FeedSpec(
            path=f"groups/{ident}",
            name=f"{APP}{DASH}beroepsgroep {name}",
            filter=FeedFilter(group=ident),
            window=windows.WIDE,
            about=ABOUT_GROUP,
            change_keys=(f"group:{ident}", "group:*"),
        )
    row = await conn.fetchrow("SELECT name, kind FROM organisations WHERE code = $1", ident)
    if row is None:
        return None
    if row["kind"] in ("organiser", "funder"):
        # An organising or funding body (VNG, BZK, A&O fonds): the meetings it organises or funds.
        return FeedSpec(
            path=f"organisations/{ident}",
            name=f"{APP}{DASH}bijeenkomsten van {row['name']}",
            filter=FeedFilter(bodies=(ident,)),
            window=windows.BODY,
            about=ABOUT_BODY,
            change_keys=(f"body:{ident}", "org:*"),
        )
    # A municipality or region: the meetings aimed at it (directly, through its province, safety region or
    # regions) or at every organisation.
    codes = tuple(sorted(set(await audience_codes_for(conn, ident))))
    label = f"gemeente {row['name']}" if row["kind"] == "municipality" else row["name"]
    return FeedSpec(
        path=f"organisations/{ident}",
        name=f"{APP}{DASH}{label}",
        filter=FeedFilter(codes=codes),
        window=windows.WIDE,
        about=ABOUT_AUDIENCE,
        change_keys=(*(f"aud:{c}" for c in codes), "aud:*", "org:*"),
    )


def last_modified(version: FeedVersion, window: windows.Window) -> int:
    """When the feed last changed: its latest change mark, or the midnight its window last lost or gained a meeting."""
    gone = windows.left_window_at(version.last_gone, window.back) if version.last_gone is not None else None
    came = windows.entered_window_at(version.last_in, window.ahead) if version.last_in is not None else None
    return http_seconds((FORMAT_SINCE, version.changed_at, gone, came))


async def _rebuild(conn: Connection, cache: FeedCache, kind: FeedKind, ident: str, token: Token) -> SharedFeed | None:
    key = f"{kind}:{ident}"
    spec = await resolve_spec(conn, kind, ident)
    if spec is None:
        cache.mark_missing(key, token)
        return None
    start, end = windows.bounds(spec.window, token.day)
    version = await q.feed_version(conn, spec.filter, start, end, spec.change_keys)
    modified = last_modified(version, spec.window)
    entry = cache.get(key)
    if entry is not None and entry.spec == spec and (entry.count, entry.xor) == (version.count, version.xor):
        if entry.rep.last_modified != modified:
            entry.rep = Representation(entry.rep.body, entry.rep.etag, modified, SHARED_CACHE_CONTROL)
        entry.token = token
        return entry
    # Last-Modified comes from before the rows: at worst it is older than the body, which costs a client one
    # extra download, never a missed change.
    rows = await q.feed_rows(conn, spec.filter, start, end)
    header = feed_header(spec.name, {r.tzid for r in rows}, description=SHARED_DESCRIPTION)
    kept = rows[: windows.fit(spec.path, len(header.data) + TRAILER, [len(r.vevent) for r in rows])]
    if len(kept) < len(rows):
        header = feed_header(spec.name, {r.tzid for r in kept}, description=SHARED_DESCRIPTION)
    body = assemble(header, [r.vevent for r in kept])
    entry = SharedFeed(
        spec=spec,
        token=token,
        count=len(rows),
        xor=reduce(xor, (r.content_hash for r in rows), 0),
        rep=Representation(body, make_etag(FORMAT, body), modified, SHARED_CACHE_CONTROL),
    )
    cache.put(key, entry)
    return entry


async def shared_feed(cache: FeedCache, pool: Pool, kind: FeedKind, ident: str = "") -> SharedFeed | None:
    """The current body of a shared feed, or None when there is no such feed. Reads only; no locks in PostgreSQL."""
    key = f"{kind}:{ident}"
    token = cache.fresh_token()
    if token is not None:
        entry = cache.get(key)
        if entry is not None and entry.token == token:
            return entry
        if cache.is_missing(key, token):
            return None
    if not valid_ident(kind, ident):
        return None
    await cache.token(pool)
    async with cache.lock(key):
        # Whoever held the lock may have rebuilt this feed meanwhile, against the newest token there is.
        token = cache.latest_token or await cache.token(pool)
        entry = cache.get(key)
        if entry is not None and entry.token == token:
            return entry
        if cache.is_missing(key, token):
            return None
        async with pool.acquire() as conn:
            return await _rebuild(conn, cache, kind, ident, token)
