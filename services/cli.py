"""The `leerkring` command: run everything locally, or one part of it in production.

Production commands live in services/commands/; `run` and `demo` are development only and live in localdev/,
which production images leave out (they refuse with a clear message there).
"""

from __future__ import annotations

import argparse
import sys

import msgspec

from services.commands.admin import cmd_api_key, cmd_dead_letters, cmd_import_organisations, cmd_migrate
from services.commands.context import dev_only, say
from services.commands.serve import cmd_api, cmd_worker
from services.settings import Settings, load_settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    dev_only("run", settings)
    from localdev.commands import run

    return run(settings, args)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    dev_only("demo", settings)
    from localdev.commands import demo

    return demo(settings, args)


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="adres om op te luisteren (standaard 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="poort (standaard 8000)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leerkring", description="Leerkring: collegiale leerbijeenkomsten")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="alles lokaal: ingebouwde database, Redis en mail, API en worker")
    _add_server_options(run)
    run.add_argument("--verbose", action="store_true", help="ook een regel per taak van de worker tonen")
    run.set_defaults(handler=cmd_run)
    api = sub.add_parser("api", help="alleen de API-server")
    _add_server_options(api)
    api.add_argument("--workers", type=int, default=1, help="aantal processen (standaard 1)")
    api.add_argument(
        "--keep-alive",
        type=int,
        default=None,
        metavar="SECONDEN",
        help="hoe lang een lege keep-alive-verbinding open blijft (standaard LEERKRING_KEEP_ALIVE_TIMEOUT, 75)",
    )
    api.set_defaults(handler=cmd_api)
    sub.add_parser("worker", help="alleen de worker (relay, mail, agenda's, herinneringen)").set_defaults(
        handler=cmd_worker
    )
    sub.add_parser("migrate", help="database bijwerken en referentiegegevens laden").set_defaults(handler=cmd_migrate)
    sub.add_parser("demo", help="demogegevens (opnieuw) laden, met nieuwe sleutels").set_defaults(handler=cmd_demo)
    imp = sub.add_parser("import-organisations", help="organisaties importeren uit CSV")
    imp.add_argument("file")
    imp.set_defaults(handler=cmd_import_organisations)
    key = sub.add_parser("api-key", help="API-sleutels beheren")
    key_sub = key.add_subparsers(dest="action", required=True)
    create = key_sub.add_parser("create")
    create.add_argument("--role", choices=["admin", "organiser", "funder"], required=True)
    create.add_argument("--organisation", help="code van de organisatie, bijv. VNG, BZK, AOF")
    create.add_argument("--name", help="waarvoor de sleutel is")
    create.add_argument(
        "--expires-days", type=int, help="na zoveel dagen werkt de sleutel niet meer (standaard: nooit)"
    )
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
        say(f"Ongeldige configuratie: {exc}")
        return 2
    code: int = args.handler(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
