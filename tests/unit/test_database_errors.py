"""Which failures count as "the database is unreachable" (503 + Retry-After) and which stay bugs (500)."""

from __future__ import annotations

import asyncpg
import pytest

from services.errors import DatabaseUnavailable, database_unreachable


def raised_while_handling(first: BaseException, then: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise then  # noqa: B904 - the implicit __context__ is what asyncpg's rollback leaves behind
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        DatabaseUnavailable("pool"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        asyncpg.InterfaceError("connection is closed"),
        TimeoutError(),
    ],
)
def test_connection_level_failures(exc: BaseException):
    assert database_unreachable(exc)


def test_a_failed_rollback_on_a_dead_connection_keeps_its_cause():
    exc = raised_while_handling(asyncpg.AdminShutdownError("shutdown"), RuntimeError("rollback failed"))
    assert database_unreachable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("a bug"),
        FileNotFoundError("not the database"),
    ],
)
def test_bugs_and_rule_violations_are_not_outages(exc: BaseException):
    assert not database_unreachable(exc)
