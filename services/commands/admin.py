"""One-shot commands: migrate, import organisations, API keys, dead letters."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.commands.context import migrate_all, run_db, say, services
from services.db import Connection
from services.settings import Settings


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with services(settings) as ready:
        applied = run_db(migrate_all, ready)
    say("Geen nieuwe migraties" if not applied else "Toegepast: " + ", ".join(applied))
    return 0


def cmd_import_organisations(settings: Settings, args: argparse.Namespace) -> int:
    from services.organisations.importer import import_organisations_csv

    path = Path(args.file)
    if not path.is_file():
        say(f"Bestand niet gevonden: {path}")
        return 2
    text = path.read_text(encoding="utf-8-sig")
    with services(settings) as ready:
        result = run_db(lambda conn: import_organisations_csv(conn, text), ready)
    if result.errors:
        say("Niets geïmporteerd; fouten:\n  " + "\n  ".join(result.errors))
        return 1
    say(f"Nieuw: {result.created}, bijgewerkt: {result.updated}, ongewijzigd: {result.unchanged}")
    return 0


def cmd_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from services.auth import keys
    from services.errors import DomainError

    with services(settings) as ready:
        try:
            if args.action == "create":
                until = datetime.now(UTC) + timedelta(days=args.expires_days) if args.expires_days else None
                key, stored = run_db(
                    lambda conn: keys.create_key(
                        conn, role=args.role, organisation_code=args.organisation, name=args.name or "",
                        expires_at=until,
                    ),
                    ready,
                )  # fmt: skip
                owner = f", {stored.organisation_code}" if stored.organisation_code else ""
                say(f"Sleutel {stored.prefix} ({stored.role}{owner})")
                say("Bewaar hem nu; hij wordt niet opnieuw getoond:\n")
                say(key)
            elif args.action == "list":
                for k in run_db(keys.list_keys, ready):
                    state = f"ingetrokken {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "actief"
                    if not k.revoked_at and k.expires_at:
                        state = f"verloopt {k.expires_at:%Y-%m-%d}"
                    used = f"gebruikt {k.last_used_at:%Y-%m-%d}" if k.last_used_at else "nooit gebruikt"
                    say(f"{k.prefix}  {k.role:<9} {k.organisation_code or '-':<8} {state:<22} {used:<20} {k.name}")
            else:
                revoked = run_db(lambda conn: keys.revoke_key(conn, args.prefix), ready)
                say(f"Sleutel {revoked.prefix} is ingetrokken")
        except DomainError as exc:
            say(f"Fout: {exc.detail}")
            return 1
    return 0


def cmd_dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    """List work that kept failing, or run one item again (a worker picks it up within seconds)."""
    from services.deadletters import service
    from services.errors import DomainError

    with services(settings) as ready:
        try:
            if args.action == "list":
                letters = run_db(
                    lambda conn: service.list_dead_letters(conn, status=args.status, limit=args.limit), ready
                )
                if not letters:
                    say("Geen dead letters")
                for d in letters:
                    state = f"afgehandeld {d.resolved_at:%Y-%m-%d %H:%M}" if d.resolved_at else "open"
                    error = d.error.splitlines()[0] if d.error else ""
                    say(f"{d.id:>6}  {d.failed_at:%Y-%m-%d %H:%M}  {d.job:<28} {state:<27} {d.attempts}x  {error}")
            else:

                async def retry(conn: Connection) -> None:
                    async with conn.transaction():
                        await service.retry(conn, args.id)

                run_db(retry, ready)
                say(f"Dead letter {args.id} wordt opnieuw uitgevoerd")
        except DomainError as exc:
            say(f"Fout: {exc.detail}")
            return 1
    return 0
