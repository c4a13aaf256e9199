"""Calendar feed fragments follow their meeting: `render_meeting_fragment` on meeting.published/updated/cancelled.

Like every event job it re-reads the meeting as it is now rather than applying the event, so order and repeats do
not matter; an older revision never replaces a newer fragment (services/feeds/fragments.refresh_fragment). Lost
jobs and backfills are covered by the sweep `refresh_stale_fragments` (workers/sweeps.py).
"""

from __future__ import annotations

from typing import Any

from schemas.events import MeetingCancelled, MeetingPublished, MeetingUpdated
from services.feeds.fragments import organizer_email, refresh_fragment
from workers.context import load_event, pool_of, settings_of
from workers.registry import job


@job()
async def render_meeting_fragment(ctx: dict[str, Any], outbox_id: int) -> None:
    """Render and store the meeting's VEVENT fragment; feeds pick it up within a second of the commit."""
    event = await load_event(ctx, outbox_id)
    payload = event.payload
    if not isinstance(payload, MeetingPublished | MeetingUpdated | MeetingCancelled):
        return
    settings = settings_of(ctx)
    async with pool_of(ctx).acquire() as conn:
        await refresh_fragment(
            conn, payload.meeting_id, base_url=settings.base_url, organizer=organizer_email(settings)
        )
