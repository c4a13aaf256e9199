"""Rate limits for the doors anyone can knock on: requests that send mail, and check-in codes.

Counts live in Redis, so every API replica shares them: a fixed window per bucket and key (INCR and EXPIRE in
one round trip). Over the limit the caller gets 429 problem+json with Retry-After, on the API and on the pages
alike. The limits are generous on purpose: a municipality's officials often share one NAT address, so a limit
must stop a script, not a department on a Monday morning. `LEERKRING_RATE_LIMIT_SCALE` multiplies them all
(0 turns them off, for load tests on one machine).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from litestar import Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.errors import InvalidInput, TooManyRequests
from services.settings import Settings

log = logging.getLogger(__name__)


class Bucket:
    def __init__(self, name: str, requests: int, per_seconds: int, message: str) -> None:
        self.name, self.requests, self.per_seconds, self.message = name, requests, per_seconds, message


# Anything that makes Leerkring send a mail to an address the caller typed: sign-in links, anonymous participant
# creation and registration. The per-address throttle (participants/service.py) comes on top of this.
MAIL = Bucket("mail", 30, 600, "Er zijn vanaf dit adres te veel aanvragen gedaan. Probeer het later opnieuw.")
# Check-in codes: a person needs one or two tries; guessing a code needs millions.
CHECKIN_CLIENT = Bucket("checkin", 10, 600, "Te veel pogingen om in te checken. Vraag de organisator om hulp.")
CHECKIN_MEETING = Bucket(
    "checkin-wrong", 100, 600, "Er zijn te veel foute incheckcodes geprobeerd. Vraag de organisator om hulp."
)
# Signed links and personal tokens cannot be guessed, but a client trying many is a scan (and load): count only
# the wrong ones, so a department behind one NAT address opening its own invitations is never counted at all.
BAD_LINK = Bucket(
    "bad-link", 30, 600, "Er zijn vanaf dit adres te veel ongeldige links geprobeerd. Probeer het later opnieuw."
)
# Calendars with a revoked feed keep polling it (every 15 minutes to a day), so this is a scan, not a forgotten one.
BAD_FEED = Bucket(
    "bad-feed", 60, 600, "Er zijn vanaf dit adres te veel onbekende agenda-links opgevraagd. Probeer het later opnieuw."
)


def client_of(request: Request[Any, Any, Any]) -> str:
    # uvicorn runs with proxy_headers, so behind the load balancer this is the caller's address, not the balancer's.
    return request.client.host if request.client else "onbekend"


async def _count(redis: Redis, key: str, window: int) -> int | None:
    """This window's count after one more; None when Redis does not answer (then nothing is limited: a registration
    matters more than a limit, and the per-address throttles in PostgreSQL still hold)."""
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window, nx=True)  # the window's expiry, set once (EXPIRE NX needs Redis 7)
            pipe.incr(key)
            _, count = await pipe.execute()
    except RedisError as exc:
        log.warning("rate limits not counted: Redis did not answer (%s)", type(exc).__name__)
        return None
    return int(count)


async def hit(settings: Settings, redis: Redis, bucket: Bucket, key: str) -> None:
    """Count one request against `bucket` for `key`; raises TooManyRequests once past the limit."""
    limit = int(bucket.requests * settings.rate_limit_scale)
    if limit <= 0:
        return
    now = time.time()
    window = int(now // bucket.per_seconds)
    count = await _count(redis, f"lk:rl:{bucket.name}:{key}:{window}", bucket.per_seconds)
    if count is not None and count > limit:
        retry_after = max(1, int((window + 1) * bucket.per_seconds - now))
        if count == limit + 1:  # once per window and key, without the key: it may be an address
            log.warning("rate limit %s reached (%d per %d s)", bucket.name, limit, bucket.per_seconds)
        raise TooManyRequests(bucket.message, retry_after=retry_after)


async def _blocked(settings: Settings, redis: Redis, bucket: Bucket, key: str) -> None:
    """Raise TooManyRequests when `key` has used up `bucket` in this window, without counting this request."""
    limit = int(bucket.requests * settings.rate_limit_scale)
    if limit <= 0:
        return
    now = time.time()
    window = int(now // bucket.per_seconds)
    try:
        value = await redis.get(f"lk:rl:{bucket.name}:{key}:{window}")
    except RedisError:
        return
    if value is not None and int(value) >= limit:
        raise TooManyRequests(bucket.message, retry_after=max(1, int((window + 1) * bucket.per_seconds - now)))


async def for_request(request: Request[Any, Any, Any], bucket: Bucket, *parts: str) -> None:
    """`hit` for the calling client (and any extra key parts, such as a meeting id)."""
    state = request.app.state
    await hit(state.settings, state.redis, bucket, ":".join((*parts, client_of(request))))


async def refuse_if_blocked(request: Request[Any, Any, Any], bucket: Bucket) -> None:
    """Raise TooManyRequests when the calling client used up `bucket` (e.g. BAD_LINK) in this window."""
    state = request.app.state
    await _blocked(state.settings, state.redis, bucket, client_of(request))


@asynccontextmanager
async def checkin_attempt(request: Request[Any, Any, Any], meeting_id: UUID) -> AsyncIterator[None]:
    """Around one self check-in: a few tries per client and meeting, and a cap on wrong codes per meeting from all
    clients together, so spreading the guesses over many addresses does not help either."""
    state, meeting = request.app.state, str(meeting_id)
    await for_request(request, CHECKIN_CLIENT, meeting)
    await _blocked(state.settings, state.redis, CHECKIN_MEETING, meeting)
    try:
        yield
    except InvalidInput as exc:
        if any(error.field == "code" for error in exc.errors):
            with contextlib.suppress(TooManyRequests):  # this answer is the wrong-code one; the next is 429
                await hit(state.settings, state.redis, CHECKIN_MEETING, meeting)
        raise
