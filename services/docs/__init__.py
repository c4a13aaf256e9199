"""The API documentation at /schema: Swagger UI served from files in this package, so the page works without
internet access (no CDN, no web fonts). The files are swagger-ui-dist from the npm registry (vendor/swagger-ui/
VERSION says which); to upgrade, `npm pack swagger-ui-dist@<version>` and copy the same five files."""

from __future__ import annotations

from importlib import resources

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath

ASSETS_PATH = "/static/docs"
_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_VENDOR = resources.files("services.docs") / "vendor" / "swagger-ui"


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False)
async def docs_asset(name: FromPath[str]) -> Response[bytes]:
    media_type = _FILES.get(name)
    if media_type is None:
        raise NotFoundException()
    return Response(
        (_VENDOR / name).read_bytes(), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


def swagger_ui() -> SwaggerRenderPlugin:
    """Swagger UI at /schema itself, loading only what docs_asset serves."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        path="/",
    )
