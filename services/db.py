"""The asyncpg pool and the one place a request opens its transaction."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import msgspec
from litestar.datastructures import State
from litestar.di import NamedDependency

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    # At run time a pooled connection is a proxy, not an asyncpg.Connection; Litestar must not check it.
    Connection = Any
    Pool = asyncpg.Pool

T = TypeVar("T")

# What a handler declares to receive the request's connection (with its open transaction).
Conn: TypeAlias = NamedDependency[Connection]


def _encode_json(value: Any) -> str:
    # Callers that already hold JSON text (msgspec-encoded Structs) pass it through untouched.
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


async def _init_connection(conn: Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> Pool:
    pool: Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=60,
    )
    return pool


async def connect(dsn: str) -> Connection:
    conn: Connection = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def provide_transaction(state: State) -> AsyncGenerator[Connection, None]:
    """Litestar dependency: one connection and one transaction per request, rolled back on any error."""
    pool: Pool = state.pool
    async with pool.acquire() as conn, conn.transaction():
        yield conn


def required(row: T | None) -> T:
    """For statements that always return a row (INSERT/UPDATE ... RETURNING on a row we hold)."""
    if row is None:
        raise RuntimeError("expected a row, got none")
    return row


def record_to_dict(record: asyncpg.Record) -> dict[str, Any]:
    return dict(record.items())
