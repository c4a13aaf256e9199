"""Webhook signatures: `Leerkring-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

The timestamp is inside the signed text, so a receiver that rejects old timestamps is safe from
replays; `Leerkring-Event-Id` lets it drop the duplicates that at-least-once delivery brings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Leerkring-Signature"
EVENT_ID_HEADER = "Leerkring-Event-Id"
EVENT_TYPE_HEADER = "Leerkring-Event-Type"
DELIVERY_HEADER = "Leerkring-Delivery"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker for secret scanners, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does: check the MAC and that the timestamp is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected.encode(), fields.get("v1", "").encode())
