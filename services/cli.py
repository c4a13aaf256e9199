"""The `leerkring` command: run everything locally, or one part of it in production."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

import msgspec

from services.db import Connection, connect
from services.settings import Settings, load_settings

T = TypeVar("T")
SERVICES_FILE = "services.env"


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is the command line


def _secret_key(settings: Settings) -> str:
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


def _running_services(settings: Settings) -> dict[str, str]:
    """URLs of the embedded servers of a `leerkring run` that is up right now, if any."""
    path = settings.var_dir / SERVICES_FILE
    if not path.exists():
        return {}
    values = dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    pid = int(values.get("PID", "0"))
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return {}
    return values


@contextmanager
def embedded_services(settings: Settings, *, with_mail: bool = False) -> Iterator[Settings]:
    """Fill in every unset service URL: from a running `leerkring run`, else by starting the embedded server."""
    if settings.is_production and not (settings.database_url and settings.redis_url):
        raise SystemExit("In productie zijn LEERKRING_DATABASE_URL en LEERKRING_REDIS_URL verplicht")
    running = _running_services(settings)
    changes: dict[str, object] = {"secret_key": _secret_key(settings)}
    with ExitStack() as stack:
        if not settings.database_url:
            if "DATABASE_URL" in running:
                changes["database_url"] = running["DATABASE_URL"]
            else:
                from localdev.embedded import EmbeddedPostgres

                _say("• PostgreSQL (ingebouwd) start in var/postgres …")
                pg = EmbeddedPostgres(settings.var_dir / "postgres")
                changes["database_url"] = pg.start()
                stack.callback(pg.stop)
        if not settings.redis_url:
            if "REDIS_URL" in running:
                changes["redis_url"] = running["REDIS_URL"]
            else:
                from localdev.embedded import EmbeddedRedis

                _say("• Redis (ingebouwd) start in var/redis …")
                redis = EmbeddedRedis(settings.var_dir / "redis")
                changes["redis_url"] = redis.start()
                stack.callback(redis.stop)
        if with_mail and not settings.smtp_url:
            from localdev.mailsink import MailSink

            sink = MailSink(settings.var_dir / "mail")
            changes["smtp_url"] = sink.start()
            stack.callback(sink.stop)
            _say(f"• Mail wordt niet verstuurd maar bewaard in {settings.var_dir / 'mail'} (.eml)")
        yield msgspec.structs.replace(settings, **changes)


def _run(coro_fn: Callable[[Connection], Awaitable[T]], settings: Settings) -> T:
    async def main() -> T:
        conn = await connect(settings.database_url or "")
        try:
            return await coro_fn(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


async def _migrate(conn: Connection) -> list[str]:
    from services.migrate import migrate
    from services.organisations.importer import import_reference_data

    applied = await migrate(conn)
    await import_reference_data(conn)
    return applied


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("database_url", "redis_url", "smtp_url", "secret_key", "base_url", "mail_from"):
        value = getattr(settings, name)
        if value:
            env[f"LEERKRING_{name.upper()}"] = str(value)
    env["LEERKRING_VAR_DIR"] = str(settings.var_dir)
    return env


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything for local use: embedded servers when none are configured, migrations, demo data, API, worker."""
    base_url = settings.base_url if os.environ.get("LEERKRING_BASE_URL") else f"http://{args.host}:{args.port}"
    settings = msgspec.structs.replace(settings, base_url=base_url)
    with embedded_services(settings, with_mail=True) as ready:
        applied = _run(_migrate, ready)
        _say(f"• Database bijgewerkt ({len(applied)} nieuwe migraties)")
        from localdev.demo import load_demo

        demo = _run(load_demo, ready)
        if demo.admin_key:
            _say(f"• Demogegevens geladen: {demo.meetings} bijeenkomsten")
            _say(f"  Beheerderssleutel (wordt maar één keer getoond): {demo.admin_key}")
            _say(f"  Organisatorsleutel VNG: {demo.organiser_key}")
        services_file = ready.var_dir / SERVICES_FILE
        services_file.write_text(
            f"PID={os.getpid()}\nDATABASE_URL={ready.database_url}\nREDIS_URL={ready.redis_url}\n", encoding="utf-8"
        )
        env = _env(ready)
        exe = [sys.executable, "-m", "services.cli"]
        children = [
            subprocess.Popen([*exe, "api", "--host", args.host, "--port", str(args.port)], env=env),  # noqa: S603
            subprocess.Popen([*exe, "worker"], env=env),  # noqa: S603
        ]
        _say(f"\nLeerkring draait op {base_url}  (API-documentatie: {base_url}/schema)")
        _say("Stoppen met Ctrl-C.\n")
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        code = 0
        try:
            while not stopping:
                for child in children:
                    if child.poll() is not None:
                        _say(f"Een onderdeel stopte onverwacht (code {child.returncode}); alles wordt gestopt.")
                        code = child.returncode or 1
                        stopping = True
                time.sleep(0.2)
        finally:
            _say("Leerkring stopt …")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
            services_file.unlink(missing_ok=True)
        return code


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    with embedded_services(settings) as ready:
        os.environ.update(_env(ready))
        uvicorn.run(
            "services.asgi:create",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            loop="uvloop",
            http="httptools",
            proxy_headers=True,
            log_level="info",
            access_log=False,
        )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.runner import run_worker

    with embedded_services(settings, with_mail=False) as ready:
        run_worker(ready)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with embedded_services(settings) as ready:
        applied = _run(_migrate, ready)
    _say("Geen nieuwe migraties" if not applied else "Toegepast: " + ", ".join(applied))
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from localdev.demo import load_demo

    with embedded_services(settings) as ready:
        _run(_migrate, ready)
        demo = _run(lambda conn: load_demo(conn, force=True), ready)
    _say(f"{demo.meetings} demobijeenkomsten geladen")
    if demo.admin_key:
        _say(f"Beheerderssleutel: {demo.admin_key}")
    return 0


def cmd_import_organisations(settings: Settings, args: argparse.Namespace) -> int:
    from services.organisations.importer import import_organisations_csv

    path = Path(args.file)
    if not path.is_file():
        _say(f"Bestand niet gevonden: {path}")
        return 2
    text = path.read_text(encoding="utf-8-sig")
    with embedded_services(settings) as ready:
        result = _run(lambda conn: import_organisations_csv(conn, text), ready)
    if result.errors:
        _say("Niets geïmporteerd; fouten:\n  " + "\n  ".join(result.errors))
        return 1
    _say(f"Nieuw: {result.created}, bijgewerkt: {result.updated}, ongewijzigd: {result.unchanged}")
    return 0


def cmd_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from services.auth import keys
    from services.errors import DomainError

    with embedded_services(settings) as ready:
        try:
            if args.action == "create":
                key, stored = _run(
                    lambda conn: keys.create_key(
                        conn, role=args.role, organisation_code=args.organisation, name=args.name or ""
                    ),
                    ready,
                )
                owner = f", {stored.organisation_code}" if stored.organisation_code else ""
                _say(f"Sleutel {stored.prefix} ({stored.role}{owner})")
                _say("Bewaar hem nu; hij wordt niet opnieuw getoond:\n")
                _say(key)
            elif args.action == "list":
                for k in _run(keys.list_keys, ready):
                    state = f"ingetrokken {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "actief"
                    _say(f"{k.prefix}  {k.role:<9} {k.organisation_code or '-':<8} {state:<22} {k.name}")
            else:
                revoked = _run(lambda conn: keys.revoke_key(conn, args.prefix), ready)
                _say(f"Sleutel {revoked.prefix} is ingetrokken")
        except DomainError as exc:
            _say(f"Fout: {exc.detail}")
            return 1
    return 0


def cmd_dead_letters(settings: Settings, args: argparse.Namespace) -> int:
    """List work that kept failing, or run one item again (a worker picks it up within seconds)."""
    from services.deadletters import service
    from services.errors import DomainError

    with embedded_services(settings) as ready:
        try:
            if args.action == "list":
                letters = _run(
                    lambda conn: service.list_dead_letters(conn, status=args.status, limit=args.limit), ready
                )
                if not letters:
                    _say("Geen dead letters")
                for d in letters:
                    state = f"afgehandeld {d.resolved_at:%Y-%m-%d %H:%M}" if d.resolved_at else "open"
                    error = d.error.splitlines()[0] if d.error else ""
                    _say(f"{d.id:>6}  {d.failed_at:%Y-%m-%d %H:%M}  {d.job:<28} {state:<27} {d.attempts}x  {error}")
            else:

                async def retry(conn: Connection) -> None:
                    async with conn.transaction():
                        await service.retry(conn, args.id)

                _run(retry, ready)
                _say(f"Dead letter {args.id} wordt opnieuw uitgevoerd")
        except DomainError as exc:
            _say(f"Fout: {exc.detail}")
            return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leerkring", description="Leerkring: collegiale leerbijeenkomsten")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="alles lokaal: ingebouwde database, Redis en mail, API en worker")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(handler=cmd_run)
    api = sub.add_parser("api", help="alleen de API-server")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(handler=cmd_api)
    sub.add_parser("worker", help="alleen de worker (relay, mail, agenda's, herinneringen)").set_defaults(
        handler=cmd_worker
    )
    sub.add_parser("migrate", help="database bijwerken en referentiegegevens laden").set_defaults(handler=cmd_migrate)
    sub.add_parser("demo", help="demogegevens laden").set_defaults(handler=cmd_demo)
    imp = sub.add_parser("import-organisations", help="organisaties importeren uit CSV")
    imp.add_argument("file")
    imp.set_defaults(handler=cmd_import_organisations)
    key = sub.add_parser("api-key", help="API-sleutels beheren")
    key_sub = key.add_subparsers(dest="action", required=True)
    create = key_sub.add_parser("create")
    create.add_argument("--role", choices=["admin", "organiser", "funder"], required=True)
    create.add_argument("--organisation", help="code van de organisatie, bijv. VNG, BZK, AOF")
    create.add_argument("--name", help="waarvoor de sleutel is")
    key_sub.add_parser("list")
    revoke = key_sub.add_parser("revoke")
    revoke.add_argument("prefix")
    key.set_defaults(handler=cmd_api_key)
    dead = sub.add_parser("dead-letters", help="mislukt werk bekijken en opnieuw starten")
    dead_sub = dead.add_subparsers(dest="action", required=True)
    dead_list = dead_sub.add_parser("list")
    dead_list.add_argument("--status", choices=["open", "resolved", "all"], default="open")
    dead_list.add_argument("--limit", type=int, default=50)
    dead_retry = dead_sub.add_parser("retry")
    dead_retry.add_argument("id", type=int)
    dead.set_defaults(handler=cmd_dead_letters)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except msgspec.ValidationError as exc:
        _say(f"Ongeldige configuratie: {exc}")
        return 2
    code: int = args.handler(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
