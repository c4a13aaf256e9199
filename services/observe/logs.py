"""Log lines as JSON, one object a line, with the request id and the job they belong to (standard library logging).

Why the standard library and not structlog: every module here, and arq, uvicorn, asyncpg and aiosmtplib, already log
through `logging`; one formatter on the root handler turns all of them into JSON without touching a call site.

Every record gets `request_id` and `job` from the context (services/observe/context.py) through a filter on the
handler, so a line logged deep inside a job carries the id of the request that caused it. Personal data must not be
logged in the first place (tests/integration/test_logs_privacy.py walks a registration, its mails and a feed and
searches the captured log for the address, the tokens and the key); as a second line of defence the formatter masks
anything that looks like an e-mail address, a participant token (`lkp_…`) or an API key (`lkr_…`).
"""

from __future__ import annotations

import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from services.observe.context import job_var, request_id_var

LogFormat = Literal["auto", "text", "json"]

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TOKEN = re.compile(r"\blk[pr]_[A-Za-z0-9_-]{6,}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


def scrub(text: str) -> str:
    """Mask e-mail addresses, participant tokens and API keys."""
    return _TOKEN.sub("lk?_[verborgen]", _EMAIL.sub("[e-mailadres]", text))


class ContextFilter(logging.Filter):
    """Puts the request id and the job of the current context on every record (attributes, never in the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, job = request_id_var.get(), job_var.get()
        setattr(record, "request_id", request_id)  # noqa: B010 - LogRecord has no such attribute for mypy
        setattr(record, "job", job)  # noqa: B010
        parts = [f"{k}={v}" for k, v in (("request_id", request_id), ("job", job)) if v]
        setattr(record, "context", f" [{' '.join(parts)}]" if parts else "")  # noqa: B010
        return True


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "message", "request_id"?, "job"?, "exc"?} per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key in ("request_id", "job"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["stack"] = scrub(record.stack_info)
        return msgspec.json.encode(entry).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "context"):
            record.context = ""
        return scrub(super().format(record))


def formatter(kind: LogFormat, *, production: bool) -> logging.Formatter:
    """JSON in production unless told otherwise ("auto"); text for a developer's terminal."""
    if kind == "json" or (kind == "auto" and production):
        return JsonFormatter()
    return TextFormatter()


def dict_config(level: str, kind: LogFormat, *, production: bool, levels: dict[str, str]) -> dict[str, Any]:
    """The whole logging set-up as a `logging.config.dictConfig` dictionary: one handler on the root logger, and
    uvicorn's loggers sent there too. uvicorn applies it in each server process it starts (`log_config`), which the
    parent's own set-up would not reach: they are fresh interpreters."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"leerkring": {"()": formatter, "kind": kind, "production": production}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "leerkring",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            **{name: {"level": value} for name, value in levels.items()},
        },
    }


def install(config: dict[str, Any]) -> None:
    logging.config.dictConfig(config)
