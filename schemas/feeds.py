"""Calendar feed bodies: the ways to subscribe to one feed."""

from __future__ import annotations

import msgspec


class FeedLinks(msgspec.Struct, kw_only=True):
    """One feed, and a link per calendar app to subscribe to it (subscribing once keeps it up to date)."""

    name: str
    description: str  # Dutch: what the feed holds and which need it fits
    window: str  # Dutch: which meetings it covers, e.g. "van 1 week terug tot 5 weken vooruit"
    https: str  # the feed itself; also what to paste into "subscribe from URL" anywhere
    webcal: str  # opens the default calendar app (Apple Calendar, Outlook desktop, Thunderbird)
    google: str  # Google Calendar "add by URL"
    outlook: str  # Outlook.com (personal Microsoft accounts)
    office365: str  # Outlook on the web for work and school accounts (Microsoft 365)


class PersonalFeedLinks(msgspec.Struct, kw_only=True):
    """A participant's personal feed; the token in these links is shown once and replaces every earlier one."""

    links: FeedLinks
    includes_professional_group: bool
