"""HTTP for feeds: validators, conditional requests (RFC 9110 §13), HEAD, and responses encoded once per version.

CALENDAR-INTEROP B1-B4: `text/calendar; charset=utf-8`; ETag and Last-Modified; 304 only when the validator
really matches, 200 for a stale ETag or an older If-Modified-Since. No gzip at all: B2 would allow it for clients
that ask, but an Outlook subscription failed until gzip was switched off [S34], and a feed is polled too rarely
per subscriber for the bandwidth to be worth that risk.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime

import msgspec
from litestar.types import HTTPScope, Receive, Scope, Send

from services.errors import PROBLEM_BASE, PROBLEM_JSON, Problem, TooManyRequests

CONTENT_TYPE = b"text/calendar; charset=utf-8"
# A Last-Modified is sent only once it is this old. HTTP dates have whole seconds, so a client that fetched
# between two changes within one second would hold the date of the second change and get 304 for ever after; and
# a change is stamped at write time, a moment before its commit. Until the date has settled, clients get the ETag.
SETTLE_SECONDS = 5.0
SHARED_CACHE_CONTROL = "no-cache"
PRIVATE_CACHE_CONTROL = "private, no-cache"
# Personal URLs are secrets: keep them out of search engines and out of Referer headers.
PRIVATE_HEADERS = (("x-robots-tag", "noindex"), ("referrer-policy", "no-referrer"))

Header = tuple[bytes, bytes]


class Reply:
    """A finished response, sent as two ASGI messages. Handlers return it (Litestar passes ASGI apps through)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[Header], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def make_etag(*parts: bytes | str | int) -> str:
    """A strong ETag from the parts that make up a body (for personal feeds: versions, not the bytes)."""
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(data).to_bytes(4, "big") + data)
    return f'"lk1-{h.hexdigest()}"'


def http_seconds(moments: Iterable[datetime | None]) -> int:
    """The latest of these instants in whole POSIX seconds, rounded up (0 when there is none)."""
    return max((math.ceil(m.timestamp()) for m in moments if m is not None), default=0)


def visible(last_modified: int) -> bool:
    return 0 < last_modified <= time.time() - SETTLE_SECONDS


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: int) -> bool:
    """True when the client's copy is current. If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).

    ETags compare weakly (a W/ prefix added by a proxy still matches), as RFC 9110 prescribes for If-None-Match.
    """
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
    if if_modified_since is None or not visible(last_modified):
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False  # not an HTTP-date (those are GMT); be safe and send the feed
    return since.timestamp() >= last_modified


def validators(scope: HTTPScope) -> tuple[bytes | None, bytes | None]:
    """The request's If-None-Match (repeated headers joined) and If-Modified-Since, straight from the ASGI scope."""
    inm: bytes | None = None
    ims: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            inm = value if inm is None else inm + b", " + value
        elif name == b"if-modified-since":
            ims = value
    return inm, ims


class Representation:
    """One version of a feed: its body, validators and response heads, encoded once and reused by every request."""

    __slots__ = ("_heads", "body", "etag", "last_modified")

    def __init__(
        self, body: bytes, etag: str, last_modified: int, cache_control: str, extra: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.body, self.etag, self.last_modified = body, etag, last_modified
        base = [(b"etag", etag.encode()), (b"cache-control", cache_control.encode())]
        base += [(k.encode(), v.encode()) for k, v in extra]
        dated = [*base, (b"last-modified", formatdate(last_modified, usegmt=True).encode())] if last_modified else base
        entity = [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(body)).encode())]
        self._heads = {
            (200, False): base + entity,
            (200, True): dated + entity,
            (304, False): base,
            (304, True): dated,
        }

    def is_fresh(self, inm: bytes | None, ims: bytes | None) -> bool:
        if inm is not None and inm == self.etag.encode():
            return True  # what every revalidating client sends: the tag as it got it
        return not_modified(
            None if inm is None else inm.decode("latin-1"),
            None if ims is None else ims.decode("latin-1"),
            self.etag,
            self.last_modified,
        )

    def reply(self, scope: HTTPScope) -> Reply:
        """200 with the body, 200 without it for HEAD, or 304, with the validators the client may keep."""
        inm, ims = validators(scope)
        status = 304 if self.is_fresh(inm, ims) else 200
        headers = self._heads[(status, visible(self.last_modified))]
        body = self.body if status == 200 and scope["method"] != "HEAD" else b""
        return Reply(status, headers, body)


_NOT_FOUND_BODY = msgspec.json.encode(
    Problem(
        type=PROBLEM_BASE + "niet-gevonden",
        title="Niet gevonden",
        status=404,
        detail="Deze agenda bestaat niet (meer). Vraag zo nodig een nieuwe link aan.",
    )
)
_NOT_FOUND_HEADERS = [
    (b"content-type", PROBLEM_JSON.encode()),
    (b"cache-control", PRIVATE_CACHE_CONTROL.encode()),
    (b"content-length", str(len(_NOT_FOUND_BODY)).encode()),
]
_NOT_ALLOWED_HEADERS = [(b"allow", b"GET, HEAD"), (b"content-length", b"0")]


def not_found(scope: HTTPScope) -> Reply:
    """The same 404 for every missing feed and every unknown, revoked or malformed token: no hint either way."""
    return Reply(404, _NOT_FOUND_HEADERS, b"" if scope["method"] == "HEAD" else _NOT_FOUND_BODY)


def too_many(error: TooManyRequests) -> Reply:
    """429 problem+json with Retry-After (services/ratelimit.py BAD_FEED: a client trying many unknown tokens)."""
    body = msgspec.json.encode(
        Problem(type=PROBLEM_BASE + error.slug, title=error.title, status=error.status, detail=error.detail)
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"retry-after", error.headers["Retry-After"].encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return Reply(429, headers, body)


def method_not_allowed() -> Reply:
    return Reply(405, _NOT_ALLOWED_HEADERS, b"")
