"""The outermost layer of the API: a request id for every request and its figures in the HTTP metrics.

It wraps Litestar's own ASGI handler (`observed(app.asgi_handler)` in services/app.py) rather than being a Litestar
middleware, because Litestar runs middleware only for matched routes: a 404 or 405 the router answers itself would
go uncounted and without a request id. The route label is the matched route's template
(`/api/v1/meetings/{meeting_id:uuid}`), "unmatched" otherwise: never the raw path, which for personal feeds and
mailed links carries a token.
"""

from __future__ import annotations

import time

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from services.observe import metrics, tracing
from services.observe.context import REQUEST_ID_HEADER, accept_request_id, request_id_var

_HEADER = REQUEST_ID_HEADER.lower().encode()
_FEEDS = {"public.ics": "public", "themes": "themes", "groups": "groups", "organisations": "organisations",
          "p": "personal"}  # fmt: skip
# Answers that are not a route of ours (probes and scrapes are counted too: they are requests like any other).
UNMATCHED = "unmatched"


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return value.decode("latin-1")
    return None


def _headers(scope: Scope) -> dict[str, str]:
    """Only what tracing needs (and only when it is on): the caller's trace context."""
    if not tracing.enabled():
        return {}
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in (b"traceparent", b"tracestate")
    }


def feed_kind(template: str) -> str | None:
    """ "personal" for `/feeds/p/{file:str}`, "themes" for the `/feeds/themes` mount; None for anything else."""
    parts = template.split("/")
    if len(parts) >= 3 and parts[1] == "feeds":
        return _FEEDS.get(parts[2])
    return None


def observed(app: ASGIApp) -> ASGIApp:
    async def observe(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = accept_request_id(_incoming_id(scope))
        token = request_id_var.set(request_id)
        status = 500  # what the client gets when the handler dies before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        method = scope.get("method", "GET")
        with tracing.server_span(method, _headers(scope)) as span:
            try:
                await app(scope, receive, send_observed)
            finally:
                request_id_var.reset(token)
                route = scope.get("path_template") or UNMATCHED
                metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
                metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
                kind = feed_kind(route)
                if kind is not None:
                    metrics.FEED_REQUESTS.labels(kind, str(status)).inc()
                if span is not None:
                    # Named after the route's template only: the path may carry a token (services/observe/tracing.py).
                    span.update_name(f"{method} {route}")
                    span.set_attributes(
                        {"http.route": route, "http.response.status_code": status, "leerkring.request_id": request_id}
                    )

    return observe
