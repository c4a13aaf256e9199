"""The personal link to the evaluation form: /evaluatie/{request}/{signature}. The link is the key (no sign-in):
the request id alone opens nothing, the HMAC over it proves the link came from our mail."""

from __future__ import annotations

from uuid import UUID

from services import links_signing

FORM_PATH = "/evaluatie"


def token(secret: str, request_id: UUID) -> str:
    return links_signing.sign(secret, f"evaluation:{request_id}", kind="evaluation")


def verify(secret: str, request_id: UUID, value: str) -> bool:
    return links_signing.valid(secret, f"evaluation:{request_id}", value)


def form_url(base_url: str, secret: str, request_id: UUID) -> str:
    return f"{base_url.rstrip('/')}{FORM_PATH}/{request_id}/{token(secret, request_id)}"
