"""Dead letters: work that kept failing, kept for people to inspect and re-run."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

DeadLetterStatus = Literal["open", "resolved", "all"]


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    job: str
    args: dict[str, Any]
    outbox_id: int | None
    task_id: int | None
    error: str
    attempts: int
    failed_at: datetime
    resolved_at: datetime | None
    resolution: str | None
