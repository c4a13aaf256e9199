"""The personal link to the evaluation form: /evaluatie/{request}/{signature}. The link is the key (no sign-in):
the request id alone opens nothing, the HMAC over it proves the link came from our mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

FORM_PATH = "/evaluatie"


def token(secret: str, request_id: UUID) -> str:
    if not secret:
        raise RuntimeError("LEERKRING_SECRET_KEY is not set: evaluation links cannot be signed")
    digest = hmac.new(secret.encode(), f"evaluation:{request_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def verify(secret: str, request_id: UUID, value: str) -> bool:
    if not secret or not value:
        return False
    return hmac.compare_digest(token(secret, request_id), value)


def form_url(base_url: str, secret: str, request_id: UUID) -> str:
    return f"{base_url.rstrip('/')}{FORM_PATH}/{request_id}/{token(secret, request_id)}"
