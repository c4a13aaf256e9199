"""Webhook signatures: `Leerkring-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

The timestamp is inside the signed text, so a receiver that rejects old timestamps is safe from
replays; `Leerkring-Event-Id` lets it drop the duplicates that at-least-once delivery brings.

While a rotated secret's grace period runs, the header carries one `v1=` per secret (the new one first); a
receiver accepts the delivery when any of them matches the secret it holds (as Stripe's scheme does).
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


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, timestamp: int, *also: str) -> str:
    """The header value; `also`: secrets still in their grace period, signed with as well."""
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, body, timestamp)}" for s in (secret, *also))])


def verify(secret: str, body: bytes, header: str, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does: check the MAC and that the timestamp is recent."""
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for name, value in pairs if name == "t"]
    try:
        timestamp = int(stamps[0])
    except (IndexError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = _mac(secret, body, timestamp).encode()
    return any(hmac.compare_digest(expected, value.encode()) for name, value in pairs if name == "v1")
