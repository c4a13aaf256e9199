"""The request id and the job a log line or an event belongs to, carried in context variables.

The API sets the request id per request (services/observe/middleware.py), `emit()` writes it into the outbox row, and
the job that handles the event takes it back from there (workers/ledger.py), so one id follows a change from the
request through every event and job it causes (and the events those jobs emit in turn).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("leerkring_request_id", default=None)
# "invitation_batch:812": the job running in this task, for the logs.
job_var: ContextVar[str | None] = ContextVar("leerkring_job", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's (or a proxy's) id is kept only when it is short and plain: it goes into logs and the outbox as it is.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The incoming X-Request-ID when it is safe to log, a fresh one otherwise."""
    if value and _ACCEPTABLE.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
