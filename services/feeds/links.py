"""Subscription links for a feed: webcal for desktop and phone apps, Google Calendar, Outlook.com, Microsoft 365."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from schemas.feeds import FeedLinks
from services.feeds import windows

if TYPE_CHECKING:
    from services.feeds.cache import FeedSpec

GOOGLE = "https://calendar.google.com/calendar/r"
OUTLOOK = "https://outlook.live.com/calendar/0/addfromweb"
OFFICE365 = "https://outlook.office.com/calendar/0/addfromweb"
PERSONAL_GROUP_QUERY = "beroepsgroep"


def feed_url(base_url: str, path: str, query: dict[str, str] | None = None) -> str:
    """https://…/feeds/{path}.ics for a path such as 'public', 'themes/de-bedoeling' or 'p/<token>'."""
    url = f"{base_url.rstrip('/')}/feeds/{path}.ics"
    return f"{url}?{urlencode(query)}" if query else url


def subscription_links(url: str, name: str, *, description: str, window: str) -> FeedLinks:
    """Every way to subscribe to the feed at `url` (its https address), named `name` where the app takes a name;
    `description` and `window` tell people (in Dutch) what it holds and how far it reaches."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    webcal = f"webcal://{rest}"
    microsoft = urlencode({"url": url, "name": name}, quote_via=quote)
    return FeedLinks(
        name=name,
        description=description,
        window=window,
        https=url,
        webcal=webcal,
        # Google takes the feed as `cid`; encoded, so a query string in the feed URL stays part of it.
        google=f"{GOOGLE}?cid={quote(webcal, safe='')}",
        outlook=f"{OUTLOOK}?{microsoft}",
        office365=f"{OFFICE365}?{microsoft}",
    )


def shared_links(base_url: str, spec: FeedSpec) -> FeedLinks:
    """The subscription links of a shared feed (public, theme, group, organisation), with what it holds."""
    return subscription_links(
        feed_url(base_url, spec.path), spec.name, description=spec.about, window=spec.window.label
    )


PERSONAL_ABOUT = (
    "Je eigen inschrijvingen, ook een plek op de wachtlijst of een aangeboden plek (onder voorbehoud). "
    "Kies deze als je alleen wilt zien waar jij heen gaat. De link is persoonlijk: deel hem niet."
)
PERSONAL_GROUP_ABOUT = " Met de bijeenkomsten voor je beroepsgroep en organisatie erbij, tot 3 maanden vooruit."


def personal_links(base_url: str, token: str, name: str, *, with_group: bool) -> FeedLinks:
    query = {PERSONAL_GROUP_QUERY: "true"} if with_group else None
    about = PERSONAL_ABOUT + (PERSONAL_GROUP_ABOUT if with_group else "")
    return subscription_links(
        feed_url(base_url, f"p/{token}", query), name, description=about, window=windows.PERSONAL.label
    )
