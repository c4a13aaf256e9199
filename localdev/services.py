"""Embedded servers for every service URL that is not configured, or those of the `leerkring run` already up."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import msgspec

from localdev import instance
from services.commands.context import say
from services.settings import Settings


@contextmanager
def embedded_services(settings: Settings, *, with_mail: bool = False, reuse_running: bool = True) -> Iterator[Settings]:
    """Fill in every unset service URL: from a running `leerkring run` (unless reuse_running is off), else by
    starting the embedded server under var/, stopped again when the block ends."""
    running = instance.running(settings.var_dir) if reuse_running else None
    changes: dict[str, object] = {}
    with ExitStack() as stack:
        if not settings.database_url:
            if running is not None and running.database_url:
                changes["database_url"] = running.database_url
            else:
                from localdev.embedded import EmbeddedPostgres

                say(f"• PostgreSQL (ingebouwd) start in {settings.var_dir / 'postgres'} …")
                pg = EmbeddedPostgres(settings.var_dir / "postgres")
                changes["database_url"] = pg.start()
                stack.callback(pg.stop)
        if not settings.redis_url:
            if running is not None and running.redis_url:
                changes["redis_url"] = running.redis_url
            else:
                from localdev.embedded import EmbeddedRedis

                say(f"• Redis (ingebouwd) start in {settings.var_dir / 'redis'} …")
                redis = EmbeddedRedis(settings.var_dir / "redis")
                changes["redis_url"] = redis.start()
                stack.callback(redis.stop)
        if with_mail and not settings.smtp_url:
            from localdev.mailsink import MailSink

            # aiosmtpd logs every SMTP command at INFO, recipients' addresses included: not in our output.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
            sink = MailSink(settings.var_dir / "mail")
            changes["smtp_url"] = sink.start()
            stack.callback(sink.stop)
        yield msgspec.structs.replace(settings, **changes)
