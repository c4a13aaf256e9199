"""Signed accept/decline links for a held seat.

A registration is offered a seat at most once (afterwards it is confirmed, declined or cancelled, never queued
again), so an HMAC over (action, registration id) is a single-purpose token that needs no storage: it is only
honoured while that registration is `offered`. The accept link cannot decline and vice versa.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal
from uuid import UUID

OfferAction = Literal["accept", "decline"]


def offer_token(secret: str, registration_id: UUID, action: OfferAction) -> str:
    if not secret:
        raise RuntimeError("LEERKRING_SECRET_KEY is not set: offer links cannot be signed")
    digest = hmac.new(secret.encode(), f"offer:{action}:{registration_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def verify(secret: str, registration_id: UUID, action: OfferAction, token: str) -> bool:
    """Constant-time check; without a configured secret no link is valid."""
    if not secret or not token:
        return False
    return hmac.compare_digest(offer_token(secret, registration_id, action).encode(), token.encode())


OFFER_PATH = "/aanbod"


def offer_links(base_url: str, secret: str, registration_id: UUID) -> dict[OfferAction, str]:
    """The two links the mail with an offer carries: pages that show a button (a GET never acts)."""
    base = base_url.rstrip("/")
    return {
        action: f"{base}{OFFER_PATH}/{registration_id}/{action}/{offer_token(secret, registration_id, action)}"
        for action in ("accept", "decline")
    }
