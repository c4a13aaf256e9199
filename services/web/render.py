"""Rendering pages: one Jinja environment (Litestar's template engine), one way to answer with a page."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
from babel.numbers import format_decimal
from litestar import MediaType, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from services.errors import DomainError, FieldError
from services.headers import PAGE_POLICY
from services.web import i18n

HTML = MediaType.HTML  # Litestar adds the charset
# Pages opened from a personal link carry a token in their URL: keep it out of Referer headers, caches and
# search engines. Every page here is personal or acts on a link, so all of them get these.
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": PAGE_POLICY,
}
_STYLESHEET = (resources.files("services.web") / "templates" / "leerkring.css").read_bytes()
# The NL Design System CSS, vendored from npm (services/web/static/vendor/UPDATING.md): Utrecht's component
# library with the community's open example theme. Served by name from this list only.
_VENDOR = resources.files("services.web") / "static" / "vendor"
_STATIC = {
    "leerkring.css": _STYLESHEET,
    "nlds/components.css": (_VENDOR / "utrecht" / "component-library.css").read_bytes(),
    "nlds/theme.css": (_VENDOR / "voorbeeld-theme" / "design-tokens.css").read_bytes(),
    "progress.js": (resources.files("services.web") / "static" / "progress.js").read_bytes(),
    "door.js": (resources.files("services.web") / "static" / "door.js").read_bytes(),
    "favicon.svg": (resources.files("services.web") / "static" / "favicon.svg").read_bytes(),  # ours: a ring
    "nlds/fonts.css": (_VENDOR / "noto" / "fonts.css").read_bytes(),
    **{
        f"fonts/noto-{face}-latin-{weight}-normal.woff2": (
            _VENDOR / "noto" / f"noto-{face}-latin-{weight}-normal.woff2"
        ).read_bytes()
        for face in ("sans", "serif")
        for weight in (400, 700)
    },
}
_KINDS = {".js": "text/javascript", ".svg": "image/svg+xml", ".woff2": "font/woff2"}

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("services.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
# Newstyle gettext: `_("Nog %(n)s plaatsen", n=3)` escapes its arguments and formats after translating.
_ENVIRONMENT.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_ENVIRONMENT.globals["current_locale"] = i18n.locale


def _number(value: object) -> object:
    """A figure as the reader writes it ("30,5" in Dutch, "30.5" in English); text (a withheld "<5") stays."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_decimal(value, locale=i18n.locale())
    return value


_ENVIRONMENT.filters["getal"] = _number


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine(engine_instance=_ENVIRONMENT))


def page(name: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Template:
    """The page `name` (templates/*.html). Every page may show the form errors; none are there by default."""
    context.setdefault("errors", {})
    context.setdefault("error_list", [])
    context.setdefault("signed_in", False)
    lang = context.pop("lang", None)
    if lang in i18n.LOCALES:
        i18n.CURRENT.set(lang)  # a page for someone whose language we know (an invitation's): theirs
    return Template(
        template_name=name, context=context, status_code=status, headers={**HEADERS, **(headers or {})}, media_type=HTML
    )


def message(
    title: str, *lines: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Template:
    """A page that says one thing (done, refused, expired), optionally with one button or a sign-in form."""
    context.setdefault("meeting_title", "")
    context.setdefault("button", "")
    context.setdefault("links", [])
    context.setdefault("signin_form", False)
    return page("message.html", status=status, headers=headers, title=title, lines=list(lines), **context)


def refusal(error: DomainError, **context: Any) -> Template:
    """A domain error as a page with the same status the API would answer."""
    # Domain errors are written in Dutch where they are raised; the catalog may hold their English.
    return message(
        i18n.gettext(error.title), i18n.gettext(error.detail), status=error.status, headers=error.headers, **context
    )


def field_errors(errors: list[FieldError], names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Errors by form field, for the message at each field (the first one per field). `names`: the API's field
    (as the service and msgspec name it) -> the form's, where they differ; otherwise the API's last path step."""
    found: dict[str, str] = {}
    for error in errors:
        name = (names or {}).get(error.field) or error.field.rsplit(".", 1)[-1]
        found.setdefault(name, i18n.gettext(error.message))
    return found


def summary(errors: dict[str, str]) -> list[dict[str, str]]:
    """The error summary above a form: one entry per field, linking to it."""
    return [{"field": name, "message": text} for name, text in errors.items()]


def on_page_error(request: Request[Any, Any, Any], exc: DomainError) -> Template:
    """Pages answer a broken rule with a page, not with problem+json (web controllers install this)."""
    return refusal(exc, signin_form=exc.status == 401)


PAGE_ERRORS = {DomainError: on_page_error}


@get("/static/{name:path}", include_in_schema=False)
async def stylesheet(name: FromPath[str]) -> Response[bytes]:
    """Our stylesheet and the vendored NL Design System CSS, by name; anything else is a 404. They change only with
    a release, so browsers may keep them for a day."""
    body = _STATIC.get(name.lstrip("/"))
    if body is None:
        raise NotFoundException()
    kind = next((k for suffix, k in _KINDS.items() if name.endswith(suffix)), "text/css")
    return Response(body, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response[bytes]:
    """Browsers ask for /favicon.ico whatever the page links; they all read an SVG icon served there."""
    return Response(
        _STATIC["favicon.svg"], media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )
