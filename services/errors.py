"""Domain errors and their one mapping to RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from services.query_keys import RENAMED

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://leerkring.nl/problemen/"
# A PostgreSQL restart or failover takes seconds; clients that honour Retry-After come back when it is likely over.
RETRY_AFTER_SECONDS = 5


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)


class DomainError(Exception):
    """A rule was broken. Subclasses fix the HTTP status; the message is Dutch, for people."""

    status = 400
    slug = "ongeldig-verzoek"
    title = "Ongeldig verzoek"

    def __init__(self, detail: str, *, field: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        if field is not None:
            self.errors.insert(0, FieldError(field=field, message=detail))
        self.headers: dict[str, str] = {}


class InvalidInput(DomainError):
    status = 422
    slug = "ongeldige-invoer"
    title = "Ongeldige invoer"


class NotAuthenticated(DomainError):
    status = 401
    slug = "niet-aangemeld"
    title = "Niet aangemeld"


class Forbidden(DomainError):
    status = 403
    slug = "geen-toegang"
    title = "Geen toegang"


class NotFound(DomainError):
    status = 404
    slug = "niet-gevonden"
    title = "Niet gevonden"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Gone(DomainError):
    """A link that worked once and no longer does (expired); the detail says how to get a fresh one."""

    status = 410
    slug = "verlopen"
    title = "Verlopen"


class TooManyRequests(DomainError):
    """A rate limit (services/ratelimit.py); Retry-After says when the window ends."""

    status = 429
    slug = "te-veel-verzoeken"
    title = "Te veel verzoeken"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(retry_after)


class MailQuotaExceeded(TooManyRequests):
    """An organising body's invitations of the last 24 hours would pass its mail quota."""

    slug = "mailquotum-bereikt"
    title = "Mailquotum bereikt"


class DatabaseUnavailable(Exception):
    """PostgreSQL does not answer (down, restarting, refusing connections) or no pooled connection came free in
    time. Not a DomainError: nothing about the request is wrong, it may simply be sent again later."""


# Connection-level failures: the connection broke or could not be made, whatever the statement was. Class 08 and
# the server's own "shutting down / starting up / crashed" answers; too many connections is the same to a client.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # "cannot switch to state N; another operation (2) is in progress": the server's FATAL for a shutdown arrived on
    # an idle pooled connection and asyncpg waits, in state 2, for a ReadyForQuery that never comes. The connection is
    # dead; the pool drops it on release.
    asyncpg.InternalClientError,
    # asyncpg's command_timeout and the pool's acquire timeout: PostgreSQL did not answer in time.
    TimeoutError,
)


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc`, or what it was raised from or while handling, is a connection-level database failure.

    The chain matters: a statement cut off by a shutdown raises AdminShutdownError, and the request's transaction
    then fails to roll back on the dead connection with InterfaceError("connection is closed"), which is what
    reaches the handler."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _CONNECTION_ERRORS):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


_MSGSPEC_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Object missing required field `(?P<f>[^`]+)`"), "Dit veld is verplicht"),
    (re.compile(r"Object contains unknown field `(?P<f>[^`]+)`"), "Onbekend veld"),
    (re.compile(r"Expected `str` of length <= (?P<n>\d+)"), "Mag hoogstens {n} tekens lang zijn"),
    (re.compile(r"Expected `str` of length >= 1\b"), "Dit veld mag niet leeg zijn"),
    (re.compile(r"Expected `str` of length >= (?P<n>\d+)"), "Moet minstens {n} tekens lang zijn"),
    (re.compile(r"Expected `int` >= (?P<n>-?\d+)"), "Moet minstens {n} zijn"),
    (re.compile(r"Expected `int` <= (?P<n>-?\d+)"), "Mag hoogstens {n} zijn"),
    (re.compile(r"Expected `array` of length <= (?P<n>\d+)"), "Hoogstens {n} waarden toegestaan"),
    (re.compile(r"Expected `str` matching regex"), "Heeft niet de juiste vorm"),
    (re.compile(r"Invalid enum value `?'?(?P<v>[^`']*)'?`?"), "Onbekende waarde '{v}'"),
    (re.compile(r"Unsupported type: <class '(?P<t>\w+)'>"), "Verkeerd soort waarde ({t}); stuur een bestand"),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        "Geen geldige datum en tijd (RFC 3339, bijvoorbeeld 2027-03-01T09:30:00+01:00)",
    ),
    (re.compile(r"Invalid RFC3339 encoded date\b"), "Geen geldige datum (bijvoorbeeld 2027-03-02)"),
    (re.compile(r"Invalid RFC3339 encoded time\b"), "Geen geldige tijd (bijvoorbeeld 13:30:00)"),
    (re.compile(r"Invalid UUID"), "Geen geldig UUID"),
    (
        re.compile(r"Expected `datetime` with a timezone component"),
        "Tijd zonder tijdzone; geef een offset, bijvoorbeeld +01:00",
    ),
    (re.compile(r"Expected `[^`]+`, got `null`"), "Dit veld mag niet leeg zijn"),
    (re.compile(r"Expected `(?P<want>\w+)[^`]*`, got `(?P<got>\w+)`"), "Vul {want} in (nu: {got})"),
    (
        re.compile(r"JSON is malformed: invalid character"),
        "De JSON bevat een teken dat er niet mag staan (zoals een NUL-teken of een regelovergang binnen tekst)",
    ),
    (re.compile(r"JSON is malformed"), "De JSON is niet geldig"),
    (re.compile(r"Input data was truncated"), "De JSON is onvolledig"),
]


# The JSON kinds msgspec names, as a person filling in a form would say them.
_KINDS = {
    "int": "een geheel getal",
    "float": "een getal",
    "decimal": "een getal",
    "str": "tekst",
    "bool": "ja of nee (true of false)",
    "array": "een lijst",
    "object": "een object met velden",
    "datetime": "een datum en tijd",
    "date": "een datum",
    "time": "een tijd",
    "uuid": "een UUID",
    "null": "leeg",
}


def translate_msgspec(message: str) -> FieldError:
    """Turn a msgspec validation message (`... - at `$.field``) into a Dutch FieldError naming the field."""
    text, _, where = message.partition(" - at `")
    field = where.rstrip("`").removeprefix("$").removeprefix(".") if where else ""
    for pattern, dutch in _MSGSPEC_PATTERNS:
        match = pattern.search(text)
        if match:
            if "f" in match.groupdict():
                field = f"{field}.{match['f']}" if field else match["f"]
            words = {k: _KINDS.get(v, v) if k in ("want", "got") else v for k, v in match.groupdict().items()}
            return FieldError(field=field or "body", message=dutch.format(**words))
    return FieldError(field=field or "body", message=text)


def _validation_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        # A parameter named like a Python keyword is declared with a trailing "_" (from_, q_): report the name the
        # caller used.
        key = str(item.get("key") or "").removesuffix("_")
        # A query key renamed to lowerCamelCase keeps its v1 spelling as the Python name: report the new one.
        key = RENAMED.get(key, key)
        if message == "'data'":
            # Litestar's KeyError for a request without a body where one is required.
            errors.append(FieldError(field="body", message="Stuur de gegevens als JSON in de body van het verzoek"))
            continue
        # Litestar strips msgspec's "- at `$.x`" and reports the path as `key`; the body itself is "data".
        if key and key != "data" and " - at `" not in message:
            message = f"{message} - at `$.{key}`"
        errors.append(translate_msgspec(message))
    return errors


def _sends_json(request: Request[Any, Any, Any]) -> bool:
    """False for a form or plain-text body sent to the API, whose bodies are JSON (or, for imports, multipart)."""
    content_type = request.headers.get("content-type", "")
    wrong = content_type.startswith(("application/x-www-form-urlencoded", "text/"))
    return not (wrong and request.url.path.startswith("/api/"))


def _on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    return problem_response(
        Problem(
            type=PROBLEM_BASE + exc.slug,
            title=exc.title,
            status=exc.status,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
        ),
        headers=exc.headers or None,
    )


_HTTP_TITLES = {
    400: "Ongeldig verzoek",
    401: "Niet aangemeld",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    413: "Verzoek te groot",
    415: "Inhoudstype niet ondersteund",
    429: "Te veel verzoeken",
}


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    errors: list[FieldError] = []
    detail = exc.detail
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        if errors:
            # Well-formed but invalid values are 422; only unreadable bodies stay 400.
            status = 422
            first = errors[0]
            detail = f"{first.field}: {first.message}"
    elif status == 400 and not _sends_json(request):
        # A form or text body where JSON was expected: say which content type to send instead of "invalid JSON".
        status = 415
        detail = "Stuur de gegevens als JSON (Content-Type: application/json); een CSV-import als multipart/form-data"
    elif status == 400 and any(w in detail for w in ("JSON", "truncated", "malformed", "decode")):
        # msgspec could not read the body at all: name the body, not a field.
        errors = [translate_msgspec(detail.partition(" - at `")[0])]
        detail = f"De inhoud van het verzoek is geen geldige JSON: {errors[0].message}"
    elif status == 404:
        detail = "Deze pagina of dit object bestaat niet"
    elif status == 405:
        detail = "Dit adres kent deze methode niet; de header Allow zegt welke wel"
    elif status == 413:
        detail = "Het verzoek is groter dan toegestaan"
    headers = dict(exc.headers or {})
    return problem_response(
        Problem(
            type=PROBLEM_BASE + ("ongeldige-invoer" if errors else f"http-{status}"),
            title="Ongeldige invoer" if errors else _HTTP_TITLES.get(status, "Fout"),
            status=status,
            detail=detail,
            instance=request.url.path,
            errors=errors,
        ),
        headers=headers or None,
    )


def _on_database_unreachable(request: Request[Any, Any, Any], exc: BaseException) -> Response[bytes]:
    # One line, no traceback: during an outage every request lands here, and the cause is already known.
    route = request.scope.get("path_template") or "?"  # not the path: it may carry a token
    log.warning("database unreachable on %s %s: %s", request.method, route, type(exc).__name__)
    return problem_response(
        Problem(
            type=PROBLEM_BASE + "database-onbereikbaar",
            title="Tijdelijk niet beschikbaar",
            status=503,
            detail="De database is tijdelijk niet bereikbaar. Probeer het over enkele seconden opnieuw.",
            instance=request.url.path,
        ),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if database_unreachable(exc):
        return _on_database_unreachable(request, exc)
    # The route's template, not the path: mailed links and personal feeds carry a token in theirs.
    route = request.scope.get("path_template") or "?"
    log.exception("unhandled error on %s %s", request.method, route, exc_info=exc)
    return problem_response(
        Problem(
            title="Interne fout",
            status=500,
            detail="Er ging iets mis aan onze kant. Probeer het later opnieuw.",
            instance=request.url.path,
        )
    )


def _on_recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    """msgspec reads JSON recursively: a body of a thousand nested brackets (2 KB, and no key needed where the
    route is anonymous) ends in RecursionError while it is decoded. That is bad input, not our fault."""
    if "deserializing" not in str(exc):
        return _on_unexpected(request, exc)
    return problem_response(
        Problem(
            type=PROBLEM_BASE + "ongeldige-invoer",
            title="Ongeldig verzoek",
            status=400,
            detail="De inhoud van het verzoek is te diep genest om te lezen; stuur gewone JSON",
            instance=request.url.path,
            errors=[FieldError(field="body", message="Te diep genest")],
        )
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _on_domain_error,
    DatabaseUnavailable: _on_database_unreachable,
    HTTPException: _on_http_exception,
    RecursionError: _on_recursion,
    Exception: _on_unexpected,
}
