"""The OpenAPI document tells the truth: who may call each operation, and the problem+json answers it can give.

Litestar documents a 400 with its own body for every operation and nothing else; what the API really answers
is RFC 9457 problem+json (services/errors.py) for 400, 401, 403, 404, 409, 422, 429, 500 and 503. This fills
them in, all with one shared `Problem` schema, once at start (before the document is first served)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from services.auth.guards import provide_optional_principal
from services.errors import PROBLEM_JSON
from services.participants.auth import provide_caller, provide_participant
from services.query_keys import OLD_NAME

_TYPED_PARAMETER = re.compile(r":[a-z]+}")

_TEXT = Schema(type=OpenAPIType.STRING)
PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details; `detail` is Dutch, for people; `errors` names the fields",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI),
        "title": _TEXT,
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": _TEXT,
        "instance": _TEXT,
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={"field": _TEXT, "message": _TEXT},
            ),
        ),
    },
)

# Sent on every response (services/headers.py); the NLGov rules want it documented on every success too.
API_VERSION_HEADER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING), description="De volledige versie van de API (semver), bijvoorbeeld 1.4.0"
)

# The anonymous doors with a rate limit (services/ratelimit.py).
RATE_LIMITED = {
    ("post", "/api/v1/participants"),
    ("post", "/api/v1/meetings/{meeting_id}/registrations"),
    ("post", "/api/v1/meetings/{meeting_id}/attendance/self"),
    # only a client that asked for many unknown tokens (ratelimit.BAD_FEED)
    ("get", "/feeds/p/{file}"),
}
# Operations that mail in bulk and count against the caller's body's mail quota (services/invitations/quota.py).
MAIL_QUOTA = {("post", "/api/v1/meetings/{meeting_id}/invitations")}


def _statuses(method: str, path: str, operation: Operation) -> dict[str, str]:
    statuses = {
        "500": "Onverwachte fout (gelogd)",
        "503": "De database is tijdelijk onbereikbaar; probeer het na Retry-After seconden opnieuw",
    }
    if operation.request_body is not None:
        statuses["400"] = "De inhoud is onleesbaar (geen geldige JSON of formulier)"
        statuses["413"] = "De inhoud is te groot"
    elif method in ("post", "put", "patch") and "400" not in (operation.responses or {}):
        statuses["400"] = "De inhoud is onleesbaar"  # a body read by the handler itself (an iTIP reply)
    if path.startswith("/api/v1/"):
        # services/unknown_query_keys.py
        said = statuses.get("400")
        unknown = "een onbekende query-parameter (`errors` noemt hem)"
        statuses["400"] = f"{said}, of {unknown}" if said else unknown[0].upper() + unknown[1:]
    if operation.parameters or operation.request_body is not None or method != "get":
        statuses["422"] = "Ongeldige invoer; `errors` noemt elk veld"
        statuses["404"] = "Niet gevonden (de bijeenkomst, link of het object waar het om gaat)"
    if "{" in path:
        statuses["404"] = "Niet gevonden"
    if operation.security != [{}]:
        statuses["401"] = "Geen of een ongeldige API-sleutel of persoonlijke link"
        statuses["403"] = "Deze sleutel mag dit niet"
    if method != "get" or "{" in path:
        # Also a read about one thing: a preview of a cancelled meeting's invitation, say.
        statuses["409"] = "Kan niet in de huidige toestand (bijvoorbeeld vol, geannuleerd of al gebeurd)"
    if (method, path) in RATE_LIMITED:
        statuses["429"] = "Te veel verzoeken vanaf dit adres; probeer het na Retry-After seconden opnieuw"
    if (method, path) in MAIL_QUOTA:
        statuses["429"] = "Het mailquotum van je organisatie (24 uur) is bereikt; Retry-After zegt wanneer er ruimte is"
    return statuses


def _credentials(providers: dict[str, Any]) -> list[SecurityRequirement] | None:
    """Who may call an operation, from the dependencies its handler resolves: None keeps the document's default
    (an API key)."""
    if providers.get("participant") is provide_participant:
        return [{"persoonlijkeLink": []}]
    if providers.get("caller") is provide_caller:
        return [{}, {"apiKey": []}, {"persoonlijkeLink": []}]
    if providers.get("principal") is provide_optional_principal:
        return [{}, {"apiKey": []}]
    if "principal" not in providers:
        return [{}]
    return None


def _mark_credentials(app: Litestar, document: OpenAPI) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = (document.paths or {}).get(_TYPED_PARAMETER.sub("}", route.path))
        if item is None:
            continue
        for handler in route.route_handlers:
            providers = {name: getattr(p, "dependency", p) for name, p in handler.resolve_dependencies().items()}
            for method in handler.http_methods:
                operation: Operation | None = getattr(item, method.lower(), None)
                if operation is None or operation.security is not None:
                    continue  # a handler that declares its own security (`security=[...]`) keeps it
                operation.security = _credentials(providers)


def document_problems(app: Litestar) -> None:
    """on_startup hook: say who may call each operation, and add the problem answers to every one of them."""
    document = app.openapi_schema
    if document.components.security_schemes is not None:
        document.components.security_schemes["persoonlijkeLink"] = SecurityScheme(
            type="http", scheme="bearer", description="lkp_… persoonlijke link van een deelnemer (uit elke e-mail)"
        )
    _mark_credentials(app, document)
    if document.components.schemas is None:
        document.components.schemas = {}
    document.components.schemas["Problem"] = PROBLEM
    answer = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    for path, item in (document.paths or {}).items():
        for method in ("get", "head", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for status in [s for s in responses if s[0] in "45"]:  # Litestar's own 400, with its own body
                responses[status] = OpenAPIResponse(description="Ongeldig verzoek", content={PROBLEM_JSON: answer})
            for status, description in _statuses(method, path, operation).items():
                responses[status] = OpenAPIResponse(description=description, content={PROBLEM_JSON: answer})
            for status, response in responses.items():
                if status[0] in "23" and isinstance(response, OpenAPIResponse):
                    response.headers = {**(response.headers or {}), "API-Version": API_VERSION_HEADER}
            operation.responses = responses
            _mention_old_spellings(operation)


def _mention_old_spellings(operation: Operation) -> None:
    """A renamed query key (services/query_keys.py) says in its description which spelling it replaced."""
    for parameter in operation.parameters or []:
        old = OLD_NAME.get(getattr(parameter, "name", ""))
        if old is not None and isinstance(parameter, Parameter):
            said = f"{parameter.description}. " if parameter.description else ""
            parameter.description = f"{said}Tot v2 werkt ook de oude spelling `{old}` (verouderd)."
