"""Request dependencies that say who is calling and what they may do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency

from schemas.auth import Principal
from services.auth.keys import authenticate
from services.db import Connection
from services.errors import Forbidden

CurrentPrincipal: TypeAlias = NamedDependency[Principal]
OptionalPrincipal: TypeAlias = NamedDependency[Principal | None]


async def provide_principal(request: Request[Any, Any, Any], conn: NamedDependency[Connection]) -> Principal:
    """Litestar dependency for endpoints that need an API key; answers 401 without one."""
    return await authenticate(conn, request.headers.get("authorization"))


async def provide_optional_principal(
    request: Request[Any, Any, Any], conn: NamedDependency[Connection]
) -> Principal | None:
    """For endpoints that anonymous callers may read too; a bad key still answers 401."""
    header = request.headers.get("authorization")
    return None if header is None else await authenticate(conn, header)


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"Deze actie is niet toegestaan voor de rol {principal.role}")


def require_organisation(principal: Principal, codes: Iterable[str], what: str = "deze bijeenkomst") -> None:
    """Admins may touch anything; others only what their own organisation is part of."""
    if principal.is_admin:
        return
    if principal.organisation_code not in set(codes):
        raise Forbidden(f"Je organisatie ({principal.organisation_code}) beheert {what} niet")
