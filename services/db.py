"""The asyncpg pool and the one place a request opens its transaction."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import msgspec
from litestar.datastructures import State
from litestar.di import NamedDependency

from services.errors import DatabaseUnavailable

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


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection[asyncpg.Record]:
    """The pool's way to open a connection, with a refused or missing server named for what it is.

    asyncpg reports an unreachable server as the OSError of its socket (ConnectionRefusedError, or FileNotFoundError
    for a unix socket that is gone): those are turned into DatabaseUnavailable here, where nothing else can have
    raised them, so the API answers 503 rather than mistaking them for a bug."""
    try:
        conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {type(exc).__name__}") from exc
    return conn


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    reset: Callable[[asyncpg.Connection[asyncpg.Record]], Awaitable[None]] | None = None,
) -> Pool:
    """`reset`: what runs on every release instead of asyncpg's session reset (see workers/lifecycle.py)."""
    pool: Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connect=_connect,
        init=_init_connection,
        command_timeout=60,
        reset=reset,
    )
    return pool


async def connect(dsn: str) -> Connection:
    conn: Connection = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def provide_transaction(state: State) -> AsyncGenerator[Connection, None]:
    """Litestar dependency: one connection and one transaction per request, rolled back on any error.

    Raises DatabaseUnavailable when no pooled connection comes free within `db_acquire_timeout` (the API answers
    503 with Retry-After rather than letting requests queue without end)."""
    pool: Pool = state.pool
    try:
        conn = await pool.acquire(timeout=state.settings.db_acquire_timeout)
    except TimeoutError as exc:
        raise DatabaseUnavailable("no database connection came free in time") from exc
    try:
        async with conn.transaction():
            yield conn
    finally:
        await pool.release(conn)


def required(row: T | None) -> T:
    """For statements that always return a row (INSERT/UPDATE ... RETURNING on a row we hold)."""
    if row is None:
        raise RuntimeError("expected a row, got none")
    return row


def record_to_dict(record: asyncpg.Record) -> dict[str, Any]:
    return dict(record.items())
