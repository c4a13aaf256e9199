"""Query keys in lowerCamelCase, as the NLGov API Design Rules require (/core/query-keys-camel-case: "Query keys in a
URI MUST only contain letters and digits ... lower camelCase"), with the snake_case spellings of v1 still accepted.

Seven keys were snake_case (`?audience_group=` and friends). Clients built against them must not break within v1,
so this middleware reads an old spelling as the new one before routing: validation, errors and handlers know only
the new name (an error names `audienceGroup`, the field as the document spells it now). When both are given, the
new one wins. The OpenAPI document lists only the new names and mentions the old one in each description
(services/openapi.py); the old spellings go with v2.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api/v1/"
# Old spelling -> new one. Each old key was a query key of /api/v1 only, with one meaning wherever it appeared.
RENAMED: dict[str, str] = {
    "audience_group": "audienceGroup",
    "audience_organisation": "audienceOrganisation",
    "series_id": "seriesId",
    "aggregate_id": "aggregateId",
    "professional_group": "professionalGroup",
    "offer_token": "offerToken",
}
OLD_NAME = {new: old for old, new in RENAMED.items()}
_OLD_KEYS = {old.encode(): new.encode() for old, new in RENAMED.items()}


def renamed(query: bytes) -> bytes | None:
    """The query string with old keys spelt the new way; None when it holds none (the common case, kept as is).
    Only keys are touched: the values stay the bytes the client sent."""
    if b"_" not in query:
        return None
    pairs = [part.partition(b"=") for part in query.split(b"&")]
    if not any(key in _OLD_KEYS for key, _, _ in pairs):
        return None
    given = {key for key, _, _ in pairs}
    kept = [
        _OLD_KEYS.get(key, key) + sep + value
        for key, sep, value in pairs
        if _OLD_KEYS.get(key) not in given  # both spellings given: the new one wins
    ]
    return b"&".join(kept)


class LegacyQueryKeysMiddleware:
    """Plain ASGI, so a request without an old key pays one substring test."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(API_PREFIX):
            query = renamed(scope.get("query_string", b""))
            if query is not None:
                scope = {**scope, "query_string": query}
        await self.app(scope, receive, send)
