"""Form posts from tests carry the CSRF pair a browser would have (the cookie from an earlier page and the token
in the form), so tests about something else need not fetch every form first. The browser tests and
tests/integration/test_web_foundation.py post real forms with the token the page gave."""

from __future__ import annotations

import httpx
from litestar.middleware.csrf import generate_csrf_token

from services.web.csrf import COOKIE

HEADER = "x-csrf-token"


def pair(secret: str) -> tuple[str, dict[str, str]]:
    """A token valid under `secret`, and the cookie and header that send it."""
    token = generate_csrf_token(secret)
    return token, {"cookie": f"{COOKIE}={token}", HEADER: token}


def like_a_browser(client: httpx.AsyncClient, secret: str) -> httpx.AsyncClient:
    """POSTs to pages get the token of the client's CSRF cookie (one is minted when the client has none)."""

    async def add_token(request: httpx.Request) -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path.startswith("/api/"):
            return
        if HEADER in request.headers:
            return
        token = next((c.value for c in client.cookies.jar if c.name == COOKIE and c.value), None)
        if token is None:
            token = generate_csrf_token(secret)
            client.cookies.set(COOKIE, token)
        cookie = request.headers.get("cookie", "")
        if f"{COOKIE}=" not in cookie:
            # A Secure cookie stays in the jar over plain http (the test client's default base): send it as a
            # browser on https would.
            request.headers["cookie"] = f"{cookie}; {COOKIE}={token}" if cookie else f"{COOKIE}={token}"
        request.headers[HEADER] = token

    client.event_hooks = {**client.event_hooks, "request": [*client.event_hooks["request"], add_token]}
    return client
