"""Signed links that need no storage: an HMAC over what the link is for, with the secret key.

One place for the seat-offer, reminder and evaluation links (services/registrations/offers.py,
services/reminders/links.py, services/evaluations/links.py). The check compares bytes, so a token with
characters outside ASCII is simply wrong rather than an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, what: str, *, kind: str) -> str:
    """The token for `what`; raises RuntimeError without a secret (`kind` names the links in that message)."""
    if not secret:
        raise RuntimeError(f"LEERKRING_SECRET_KEY is not set: {kind} links cannot be signed")
    digest = hmac.new(secret.encode(), what.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def valid(secret: str, what: str, token: str) -> bool:
    """Constant-time check; without a configured secret or a token no link is valid."""
    if not secret or not token:
        return False
    return hmac.compare_digest(sign(secret, what, kind="any").encode(), token.encode())
