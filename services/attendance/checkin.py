"""The meeting's check-in code, its window and the QR image of the check-in URL."""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta
from uuid import UUID

import segno

from services.db import Connection

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: the code is read off a screen or a printed sheet and typed on a phone.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
# People arrive early; they may check themselves in from half an hour before the start until the end.
OPENS_BEFORE = timedelta(minutes=30)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    return code.strip().upper()


def window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    return starts_at - OPENS_BEFORE, ends_at


def checkin_url(base_url: str, meeting_id: UUID, code: str) -> str:
    """The participant page that asks who you are and checks you in (served by the web pages)."""
    return f"{base_url.rstrip('/')}/inchecken/{meeting_id}?code={code}"


async def ensure_code(conn: Connection, meeting_id: UUID, current: str | None) -> str:
    """The meeting's code, made on first use; concurrent first uses agree on one."""
    if current:
        return current
    code = await conn.fetchval(
        "UPDATE meetings SET checkin_code = coalesce(checkin_code, $2) WHERE id = $1 RETURNING checkin_code",
        meeting_id,
        new_code(),
    )
    return str(code)


def qr(url: str, kind: str) -> bytes:
    """SVG or PNG; error correction M survives a crumpled print-out, scale 10 is readable from a projector."""
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind=kind, scale=10, border=2)
    return out.getvalue()
