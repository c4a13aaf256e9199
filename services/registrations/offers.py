"""Signed accept/decline links for a held seat.

A registration is offered a seat at most once (afterwards it is confirmed, declined or cancelled, never queued
again), so an HMAC over (action, registration id) is a single-purpose token that needs no storage: it is only
honoured while that registration is `offered`. The accept link cannot decline and vice versa.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from services import links_signing

OfferAction = Literal["accept", "decline"]


def offer_token(secret: str, registration_id: UUID, action: OfferAction) -> str:
    return links_signing.sign(secret, f"offer:{action}:{registration_id}", kind="offer")


def verify(secret: str, registration_id: UUID, action: OfferAction, token: str) -> bool:
    return links_signing.valid(secret, f"offer:{action}:{registration_id}", token)


OFFER_PATH = "/aanbod"


def offer_links(base_url: str, secret: str, registration_id: UUID) -> dict[OfferAction, str]:
    """The two links the mail with an offer carries: pages that show a button (a GET never acts)."""
    base = base_url.rstrip("/")
    return {
        action: f"{base}{OFFER_PATH}/{registration_id}/{action}/{offer_token(secret, registration_id, action)}"
        for action in ("accept", "decline")
    }
