"""A query key that an /api/v1 operation does not read is a 400 naming the key (a typo such as `?audiencegroup=`
or `?page=` would otherwise give an unfiltered answer that looks like a filtered one).

Runs after services/query_keys.py has spelt the v1 keys the new way, so an old spelling is known too. Only on
/api/v1: web pages are opened from mails and shared links, and browsers and newsletters add keys of their own
(`utm_source`, `fbclid`), which the pages ignore.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send

from services.errors import DomainError, FieldError
from services.query_keys import API_PREFIX


class UnknownQueryKey(DomainError):
    slug = "onbekende-query-parameter"
    title = "Onbekende query-parameter"


def declared_keys(app: Litestar) -> dict[int, frozenset[str]]:
    """Per HTTP handler (by id), the query keys it reads: its own parameters and those of its dependencies, as
    Litestar's kwargs model has them."""
    found: dict[int, frozenset[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, model in route.route_handler_map.values():
                found[id(handler)] = frozenset(p.field_alias for p in model.expected_query_params)
    return found


def unknown_keys(query: bytes, allowed: frozenset[str]) -> list[str]:
    """The keys in the query string that are not in `allowed`, each once, in the order given."""
    keys = dict.fromkeys(key for key, _value in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return [key for key in keys if key not in allowed]


class UnknownQueryKeysMiddleware:
    """Plain ASGI; a request without a query string pays one test."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._declared: dict[int, frozenset[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        if query and scope["type"] == ScopeType.HTTP and scope["path"].startswith(API_PREFIX):
            self._refuse_unknown(scope, query)
        await self.app(scope, receive, send)

    def _refuse_unknown(self, scope: Scope, query: bytes) -> None:
        if self._declared is None:
            self._declared = declared_keys(scope["litestar_app"])
        allowed = self._declared.get(id(scope.get("route_handler")))
        if allowed is None:  # not an HTTP handler (a mount): it reads what it reads
            return
        unknown = unknown_keys(query, allowed)
        if unknown:
            known = ", ".join(f"`{k}`" for k in sorted(allowed)) or "geen"
            raise UnknownQueryKey(
                f"Onbekende query-parameter '{unknown[0]}'; deze bewerking kent: {known}",
                errors=[FieldError(field=key, message="Onbekende query-parameter") for key in unknown],
            )
