"""SQL for the audit log. Rows are written by the outbox trigger (migration 20261202_1220) and by record()."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from schemas.audit import AuditEntry
from services.db import Connection

COLUMNS = (
    "id, at, actor_role, key_id, actor_participant_id, action, object_type, object_id, meeting_id, participant_id, "
    "detail"
)


async def record(
    conn: Connection, action: str, object_type: str, object_id: str | None, detail: dict[str, Any] | None = None
) -> None:
    """Record an action that emits no event, by the actor of this transaction. `detail` holds no free text."""
    await conn.execute(
        """
        INSERT INTO audit_log (actor_role, key_id, actor_participant_id, action, object_type, object_id, detail)
        SELECT a.role, a.key_id, a.participant_id, $1, $2, $3, $4::jsonb FROM audit_actor() a
        """,
        action,
        object_type,
        object_id,
        detail or {},
    )


async def entries(
    conn: Connection, *, before: int | None, limit: int, object_id: str | None, meeting_id: UUID | None,
    key_id: UUID | None, action: str | None,
) -> list[AuditEntry]:  # fmt: skip
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM audit_log
        WHERE ($1::bigint IS NULL OR id < $1) AND ($3::text IS NULL OR object_id = $3)
          AND ($4::uuid IS NULL OR meeting_id = $4) AND ($5::uuid IS NULL OR key_id = $5)
          AND ($6::text IS NULL OR action = $6)
        ORDER BY id DESC LIMIT $2
        """,
        before, limit, object_id, meeting_id, key_id, action,
    )  # fmt: skip
    return [AuditEntry(**dict(r)) for r in rows]
