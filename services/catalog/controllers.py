"""HTTP: /api/v1/themes and /api/v1/professional-groups, the managed lists."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.params import JSONBody

from schemas.organisations import CatalogItem, CatalogItemIn
from services.auth.guards import CurrentPrincipal, provide_principal, require_role
from services.catalog import queries as q
from services.db import Conn


class CatalogController(Controller):
    path = "/api/v1"
    tags = ("lijsten",)

    @get("/themes")
    async def list_themes(self, conn: Conn) -> list[CatalogItem]:
        return await q.list_catalog(conn, "themes")

    @put("/themes", dependencies={"principal": provide_principal})
    async def put_theme(self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[CatalogItemIn]) -> CatalogItem:
        """Add or rename a theme, or deactivate it (admin)."""
        require_role(principal, "admin")
        return await q.upsert_catalog(conn, "themes", data.slug, data.name.strip(), data.active)

    @get("/professional-groups")
    async def list_groups(self, conn: Conn) -> list[CatalogItem]:
        return await q.list_catalog(conn, "professional_groups")

    @put("/professional-groups", dependencies={"principal": provide_principal})
    async def put_group(self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[CatalogItemIn]) -> CatalogItem:
        """Add or rename a professional group, or deactivate it (admin)."""
        require_role(principal, "admin")
        return await q.upsert_catalog(conn, "professional_groups", data.slug, data.name.strip(), data.active)
