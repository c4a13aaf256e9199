"""Headers on every response, whatever produced it (handlers, error pages, the raw feed responder): the API
version (NLGov API Design Rules: `API-Version`) and the security headers.

A header a response sets itself wins: pages send their own Content-Security-Policy (services/web/render.py),
feeds their own Cache-Control. The defaults suit an API whose answers are personal more often than not.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from services import VERSION

DEFAULTS = (
    ("API-Version", VERSION),
    ("X-Content-Type-Options", "nosniff"),
    # Links in mails carry tokens in their path: no page of ours ever tells another site where it came from.
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)

# The pages: no script at all, styles only from our own stylesheet, forms only to us.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

# Pages with a script (the invitation progress bar, the door view): our own files, and fetches back to us only.
SCRIPT_PAGE_POLICY = PAGE_POLICY.replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
)


async def add_response_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: it sees every response, also the 404s and 405s the router answers itself."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in DEFAULTS:
            if name not in headers:
                headers[name] = value
