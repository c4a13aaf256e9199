"""HTTP: /api/v1/staff-addresses, the addresses that sign in to the organiser pages by mail (services/auth/staff.py)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from schemas.auth import StaffAddress, StaffAddressIn
from schemas.common import Page
from services.auth import staff
from services.auth.guards import CurrentPrincipal, provide_principal
from services.db import Conn


class StaffAddressController(Controller):
    path = "/api/v1/staff-addresses"
    tags = ("organisaties",)
    dependencies = {"principal": provide_principal}  # noqa: RUF012 - Litestar's own shape

    @get("/")
    async def list_staff_addresses(self, conn: Conn, principal: CurrentPrincipal) -> Page[StaffAddress]:
        """The addresses of the caller's body (organiser; an admin: all bodies') that may sign in by mail. At most
        a few hundred per body, so one page."""
        return Page(items=await staff.list_for(conn, principal), next_cursor=None)

    @post("/")
    async def add_staff_address(
        self, conn: Conn, principal: CurrentPrincipal, data: JSONBody[StaffAddressIn]
    ) -> Response[StaffAddress]:
        """Let a colleague sign in by mail: bound to the caller's key, or (an admin) to `api_key_id`, an organiser
        key. Their page session acts as that key, for its body, while both are live."""
        return Response(await staff.add(conn, principal, data.email, data.api_key_id), status_code=201)

    @delete("/{staff_id:uuid}")
    async def remove_staff_address(self, conn: Conn, principal: CurrentPrincipal, staff_id: FromPath[UUID]) -> None:
        """Remove an address: its page sessions end at once."""
        await staff.remove(conn, principal, staff_id)
