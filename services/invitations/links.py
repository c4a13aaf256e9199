"""Signed, expiring, single-purpose links for "register" and "decline" in invitation mails.

A link is verified without the database: the payload (purpose, meeting, address, locale, expiry) travels in the
URL and an HMAC-SHA256 over it proves we wrote it. The MAC key is derived from settings.secret_key with a label of
its own, so these tokens can never be confused with any other token the application signs. The purpose is part of
the signed payload and checked against the action, so a "decline" link cannot be replayed as a "register" link.

Acting on a link is idempotent (registering twice keeps one seat), which is why the links are not single-use: a
mail scanner that fetches every URL would otherwise burn them (and a GET never acts anyway, see pages.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

Purpose = Literal["register", "decline"]
Locale = Literal["nl", "en"]

_VERSION = "v1"
_LABEL = b"leerkring/invitation-link/v1"
# 128 bits of MAC is plenty for a link that expires within months and keeps URLs short enough for mail clients.
_MAC_BYTES = 16
MAX_LIFETIME = timedelta(days=120)


class LinkClaims(msgspec.Struct, frozen=True, array_like=True):
    """What a link says; array_like keeps the encoded payload small."""

    purpose: Purpose
    meeting_id: UUID
    email: str
    locale: Locale
    expires: int  # POSIX seconds

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


class InvalidLink(Exception):
    """The token was not made by us, was altered, is for another purpose or has expired (`expired` says which)."""

    def __init__(self, reason: str, *, expired: bool = False, claims: LinkClaims | None = None) -> None:
        super().__init__(reason)
        self.expired = expired
        self.claims = claims


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LinkClaims)


def _key(secret: str) -> bytes:
    if not secret:
        raise ValueError("secret_key is empty; links cannot be signed")
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(_key(secret), f"{_VERSION}.{body}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def sign(secret: str, claims: LinkClaims) -> str:
    """Return the URL-safe token for these claims; raises ValueError without a secret."""
    body = _b64(_encoder.encode(claims))
    return f"{_VERSION}.{body}.{_b64(_mac(secret, body))}"


def make(
    secret: str,
    purpose: Purpose,
    meeting_id: UUID,
    email: str,
    *,
    locale: Locale,
    until: datetime,
    now: datetime | None = None,
) -> str:
    """Sign a link valid until `until` (the meeting's start, typically), capped at MAX_LIFETIME from now."""
    now = now or datetime.now(UTC)
    expires = min(until, now + MAX_LIFETIME)
    claims = LinkClaims(
        purpose=purpose, meeting_id=meeting_id, email=email, locale=locale, expires=int(expires.timestamp())
    )
    return sign(secret, claims)


def verify(secret: str, token: str, purpose: Purpose, *, now: datetime | None = None) -> LinkClaims:
    """Check MAC, purpose and expiry. Raises InvalidLink; expired links still carry their claims for a kind page."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or len(token) > 1000:
        raise InvalidLink("malformed")
    _, body, mac = parts
    # Constant-time comparison of the text, before the payload is even decoded. Not of the decoded bytes: base64
    # ignores the spare bits of the last character, so four spellings of one MAC would pass (a forged link in a
    # test got through one time in a thousand).
    if not hmac.compare_digest(mac.encode(), _b64(_mac(secret, body)).encode()):
        raise InvalidLink("bad signature")
    try:
        claims = _decoder.decode(_unb64(body))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidLink("malformed") from None
    if claims.purpose != purpose:
        raise InvalidLink("wrong purpose")
    if claims.expires <= (now or datetime.now(UTC)).timestamp():
        raise InvalidLink("expired", expired=True, claims=claims)
    return claims


# The paths the signed links point at (services/invitations/pages.py serves them).
PATHS: dict[Purpose, str] = {"register": "/uitnodiging/aanmelden/", "decline": "/uitnodiging/afmelden/"}


def url(base_url: str, token: str, purpose: Purpose) -> str:
    return f"{base_url.rstrip('/')}{PATHS[purpose]}{token}"
