"""What every `leerkring` command needs: settings with each service URL filled in, a database connection, logging.

Production never needs the development package (localdev): with LEERKRING_ENVIRONMENT=production every URL must be
configured, and development-only commands refuse to run. In development an unset URL means "the embedded server",
which localdev provides (or the one a running `leerkring run` already started).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from services.db import Connection, connect
from services.observe.logs import dict_config
from services.observe.logs import install as install_logging
from services.settings import Settings

T = TypeVar("T")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# arq logs two lines per job (start and end) at INFO: thousands a minute in a fan-out. Shown only on request.
JOB_LOGGERS = ("arq.worker", "arq.jobs")
MISSING_DEV_PACKAGE = (
    "Het ontwikkelpakket (localdev, met de ingebouwde PostgreSQL, Redis en mailopvang) ontbreekt in deze "
    "installatie. Stel LEERKRING_DATABASE_URL en LEERKRING_REDIS_URL in, of installeer het pakket voor "
    "ontwikkeling: python3 dev.py run"
)


def say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is the command line


def dev_only(command: str, settings: Settings) -> None:
    """Refuse a development-only command in production and where localdev is not installed (SystemExit)."""
    if settings.is_production:
        raise SystemExit(f"`leerkring {command}` is alleen voor ontwikkeling en draait niet in productie.")
    if importlib.util.find_spec("localdev") is None:
        raise SystemExit(MISSING_DEV_PACKAGE)


# Signing keys shorter than this are guessable offline from one link; the deploy examples hold a placeholder.
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = ("replace-with-a-long-random-string", "changeme", "secret")


def secret_key(settings: Settings) -> str:
    if settings.secret_key and settings.is_production:
        weak = settings.secret_key in PLACEHOLDER_SECRETS or len(settings.secret_key) < MIN_SECRET_LENGTH
        if weak:
            raise SystemExit(
                f"LEERKRING_SECRET_KEY is te kort of een voorbeeldwaarde: gebruik minstens {MIN_SECRET_LENGTH} "
                "willekeurige tekens, bijvoorbeeld python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
    if settings.secret_key:
        return settings.secret_key
    if settings.is_production:
        raise SystemExit("LEERKRING_SECRET_KEY is verplicht in productie")
    path = settings.var_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@contextmanager
def services(settings: Settings, *, with_mail: bool = False) -> Iterator[Settings]:
    """`settings` with a secret key and every service URL filled in; embedded servers only in development."""
    settings = msgspec.structs.replace(settings, secret_key=secret_key(settings))
    if settings.database_url and settings.redis_url and (settings.smtp_url or not with_mail):
        yield settings
        return
    if settings.is_production:
        raise SystemExit("In productie zijn LEERKRING_DATABASE_URL en LEERKRING_REDIS_URL verplicht")
    if importlib.util.find_spec("localdev") is None:
        raise SystemExit(MISSING_DEV_PACKAGE)
    from localdev.services import embedded_services

    with embedded_services(settings, with_mail=with_mail) as ready:
        yield ready


def run_db(coro_fn: Callable[[Connection], Awaitable[T]], settings: Settings) -> T:
    """Run `coro_fn(conn)` on one connection of its own, outside any event loop."""

    async def main() -> T:
        conn = await connect(settings.database_url or "")
        try:
            return await coro_fn(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


async def migrate_all(conn: Connection) -> list[str]:
    """Apply migrations and (re)load the reference data; returns the versions applied now."""
    from services.migrate import migrate
    from services.organisations.importer import import_reference_data

    applied = await migrate(conn)
    await import_reference_data(conn)
    return applied


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment plus every setting that differs from its default, for a child process."""
    env = dict(os.environ)
    defaults = Settings()
    for field in msgspec.structs.fields(Settings):
        value = getattr(settings, field.name)
        if value is not None and value != getattr(defaults, field.name):
            env[f"LEERKRING_{field.name.upper()}"] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    env["LEERKRING_VAR_DIR"] = str(settings.var_dir)
    return env


def configure_logging(settings: Settings) -> str:
    """One format for every process; arq's per-job lines only with log_jobs. Returns the level's name."""
    level = settings.log_level.upper()
    if level not in LOG_LEVELS:
        raise SystemExit(f"Ongeldige LEERKRING_LOG_LEVEL {settings.log_level!r}: kies uit {', '.join(LOG_LEVELS)}")
    install_logging(logging_config(settings))
    return level


def logging_config(settings: Settings) -> dict[str, Any]:
    """services/observe/logs.py's set-up with our levels: JSON in production, arq's per-job lines only with log_jobs."""
    levels = dict.fromkeys(JOB_LOGGERS, "INFO" if settings.log_jobs else "WARNING")
    # httpx logs every request with its full URL at INFO; a webhook URL may carry a subscriber's secret.
    levels.update(httpx="WARNING", httpcore="WARNING")
    level = settings.log_level.upper()
    return dict_config(level, settings.log_format, production=settings.is_production, levels=levels)
