"""Signed, expiring, single-purpose links for "register" and "decline" in invitation mails.

A link names the invitation row and nothing else: `v2.<invitation id>.<MAC>`, the MAC an HMAC-SHA256 over purpose
and id. So no address travels in a URL (access logs, proxies, browser history); the page looks the row up
(services/invitations/respond.claims_for), which also says who the link is for, in which language, and until when
it holds (the meeting's start, at most MAX_LIFETIME after the mail went out). The MAC key is derived from
settings.secret_key with a label of its own, so these tokens can never be confused with any other token the
application signs; the purpose is part of what is signed, so a "decline" link cannot be replayed as a "register" one.

Links mailed before 2026-12 are v1: the claims (purpose, meeting, address, locale, expiry) in readable base64 in
the URL. Those are still verified until they expire (at most MAX_LIFETIME after they were sent); none are issued.

Acting on a link is idempotent (registering twice keeps one seat), which is why the links are not single-use: a
mail scanner that fetches every URL would otherwise burn them (and a GET never acts anyway, see the page).
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
_V2 = "v2"
_LABEL_V2 = b"leerkring/invitation-link/v2"
# 128 bits of MAC is plenty for a link that expires within months and keeps URLs short enough for mail clients.
_MAC_BYTES = 16
MAX_LIFETIME = timedelta(days=120)


class LinkClaims(msgspec.Struct, frozen=True, array_like=True):
    """Who a link is for: a v1 link carries these itself (array_like kept its payload small); a v2 link's come
    from its invitation row."""

    purpose: Purpose
    meeting_id: UUID
    email: str
    locale: Locale
    expires: int  # POSIX seconds

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


class InvitationRef(msgspec.Struct, frozen=True):
    """A v2 link, verified: which invitation it names, for what. The row says the rest."""

    purpose: Purpose
    invitation_id: int


class InvalidLink(Exception):
    """The token was not made by us, was altered or is for another purpose; or it has expired (`expired`), or the
    invitation it names is no more (`gone`: erased, or purged by retention). `locale`: the invitee's, when known."""

    def __init__(
        self,
        reason: str,
        *,
        expired: bool = False,
        gone: bool = False,
        claims: LinkClaims | None = None,
        locale: Locale | None = None,
    ) -> None:
        super().__init__(reason)
        self.expired = expired
        self.gone = gone
        self.claims = claims
        self.locale: Locale | None = locale or (claims.locale if claims else None)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LinkClaims)


def _key(secret: str, label: bytes = _LABEL) -> bytes:
    if not secret:
        raise ValueError("secret_key is empty; links cannot be signed")
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(_key(secret), f"{_VERSION}.{body}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def sign_v1(secret: str, claims: LinkClaims) -> str:
    """The v1 token for these claims, as mails carried them until 2026-12 (tests make old links with it)."""
    body = _b64(_encoder.encode(claims))
    return f"{_VERSION}.{body}.{_b64(_mac(secret, body))}"


def _mac_v2(secret: str, purpose: Purpose, invitation_id: int) -> str:
    digest = hmac.new(_key(secret, _LABEL_V2), f"{_V2}.{purpose}.{invitation_id}".encode(), hashlib.sha256).digest()
    return _b64(digest[:_MAC_BYTES])


def make(secret: str, purpose: Purpose, invitation_id: int) -> str:
    """The token of the link to `purpose` the invitation row `invitation_id`; raises ValueError without a secret."""
    return f"{_V2}.{invitation_id}.{_mac_v2(secret, purpose, invitation_id)}"


def expiry(starts_at: datetime, sent_at: datetime | None, now: datetime) -> datetime:
    """Until when a v2 link holds: the meeting's start, and at most MAX_LIFETIME after its mail went out."""
    return min(starts_at, (sent_at or now) + MAX_LIFETIME)


def verify(secret: str, token: str, purpose: Purpose, *, now: datetime | None = None) -> LinkClaims | InvitationRef:
    """Check MAC and purpose (and a v1 link's expiry; a v2 link's is in its row). Raises InvalidLink; expired v1
    links still carry their claims for a kind page."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 1000:
        raise InvalidLink("malformed")
    if parts[0] == _V2:
        return _verify_v2(secret, parts[1], parts[2], purpose)
    if parts[0] != _VERSION:
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


def _verify_v2(secret: str, number: str, mac: str, purpose: Purpose) -> InvitationRef:
    # Only plain ASCII digits, one spelling per row: int() would also take "٣", "+3", "3_0" or "03".
    if not (number.isascii() and number.isdigit()) or len(number) > 19 or str(int(number)) != number:
        raise InvalidLink("malformed")
    invitation_id = int(number)
    # The purpose is in the MAC: a decline link checked as a register link simply does not match.
    if not hmac.compare_digest(mac.encode(), _mac_v2(secret, purpose, invitation_id).encode()):
        raise InvalidLink("bad signature")
    return InvitationRef(purpose=purpose, invitation_id=invitation_id)


# The paths the signed links point at (services/web/invitation_links.py serves them).
PATHS: dict[Purpose, str] = {"register": "/uitnodiging/aanmelden/", "decline": "/uitnodiging/afmelden/"}


def url(base_url: str, token: str, purpose: Purpose) -> str:
    return f"{base_url.rstrip('/')}{PATHS[purpose]}{token}"
