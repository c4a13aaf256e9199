"""The invitation page: the progress line an organiser reads, and a pasted list read into entries."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from schemas.invitations import InvitationBatch, InvitationCounts
from services.web.organiser_invite import progress


def batch(state: str, **counts: int) -> InvitationBatch:
    return InvitationBatch(
        id=uuid4(), meeting_id=uuid4(), kind="invitation", state=state, resend="none",  # type: ignore[arg-type]
        groups=["wijkteammedewerker"], organisations=[], regions=[], lists=[], email_count=0,
        counts=InvitationCounts(**counts), created_at=datetime.now(UTC), resolved_at=None, finished_at=None,
    )  # fmt: skip


def test_an_invitation_that_reached_nobody_says_why() -> None:
    shown = progress(batch("done"))
    assert shown["finished"] is True
    assert "niemand uitgenodigd" in shown["text"]
    assert "uitnodigingen wil krijgen" in shown["text"], "only people who asked for invitations are reached"


def test_a_finished_invitation_counts_what_went_out() -> None:
    assert progress(batch("done", total=5, sent=4, skipped=1))["text"] == (
        "Klaar: 4 van 5 verstuurd, 1 overgeslagen (al uitgenodigd of ingeschreven)."
    )


def test_pasted_lists_keep_each_name_with_its_address() -> None:
    from services.web.organiser_invite import pasted_addresses

    pasted = 'Eva Tester <eva@example.nl>; "Jansen, Jan" <jan@example.nl>\nbare@example.nl, nietgoed@ ander@example.nl'
    assert pasted_addresses(pasted) == [
        "Eva Tester <eva@example.nl>",
        '"Jansen, Jan" <jan@example.nl>',
        "bare@example.nl",
        "nietgoed@",
        "ander@example.nl",
    ]
