"""`leerkring run` and `leerkring demo`: development only (services/cli.py refuses them in production)."""

from __future__ import annotations

import argparse
import errno
import os
import socket

import msgspec

from localdev import summary
from localdev.demo import DemoResult, load_demo
from localdev.instance import AlreadyRunning, Instance, RunState
from localdev.services import embedded_services
from localdev.supervisor import Supervisor
from services.commands.context import child_env, configure_logging, migrate_all, run_db, say, secret_key
from services.settings import Settings


def _port_taken(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _local_url(host: str, port: int) -> str:
    # 0.0.0.0 and :: listen everywhere but are no address to open in a browser.
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else (f"[{host}]" if ":" in host else host)  # noqa: S104
    return f"http://{shown}:{port}"


def _demo_keys(demo: DemoResult) -> dict[str, str]:
    keys = {"beheerder": demo.admin_key, "organisator_vng": demo.organiser_key, "financier_aof": demo.funder_key}
    return {name: key for name, key in keys.items() if key}


def _keep_keys(settings: Settings, demo: DemoResult) -> None:
    if demo.admin_key:
        summary.save_keys(settings.var_dir, _demo_keys(demo))


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Everything for local use: embedded servers when none are configured, migrations, demo data, API, worker."""
    local = _local_url(args.host, args.port)
    if settings.base_url == Settings().base_url:  # not configured: links in mail and feeds point at this run
        settings = msgspec.structs.replace(settings, base_url=local)
    settings = msgspec.structs.replace(settings, log_jobs=settings.log_jobs or args.verbose)
    configure_logging(settings)
    with Instance(settings.var_dir) as claim:
        try:
            for note in claim.claim():
                say(note)
        except AlreadyRunning as exc:
            say(exc.advice())
            return 1
        if _port_taken(args.host, args.port):
            say(
                f"Poort {args.port} is al in gebruik door een ander programma.\n"
                f"  Kies een andere poort, bijvoorbeeld: leerkring run --port {args.port + 1}"
            )
            return 1
        own_mail = not settings.smtp_url
        settings = msgspec.structs.replace(settings, secret_key=secret_key(settings))
        with embedded_services(settings, with_mail=True, reuse_running=False) as ready:
            applied = run_db(migrate_all, ready)
            say(f"• Database bijgewerkt ({len(applied)} nieuwe migraties)")
            demo = run_db(load_demo, ready)
            if demo.admin_key:
                say(f"• Demogegevens geladen: {demo.meetings} bijeenkomsten")
            _keep_keys(ready, demo)
            children = Supervisor(child_env(ready))
            children.on_signals()
            try:
                children.start("API", "api", "--host", args.host, "--port", str(args.port))
                children.start("worker", "worker")
                claim.record(
                    RunState(
                        pid=os.getpid(),
                        base_url=ready.base_url,
                        database_url=ready.database_url,
                        redis_url=ready.redis_url,
                        children=children.records(),
                    )
                )
                problem = children.wait_ready(f"{local}/readyz")
                if problem is not None:
                    say(problem)
                    return 1
                say(summary.summary(ready, own_mail=own_mail, verbose=args.verbose))
                return children.supervise()
            finally:
                say("Leerkring stopt …")
                children.stop()


def demo(settings: Settings, args: argparse.Namespace) -> int:
    """Load the demo programme again (new meetings, new keys), also while `leerkring run` is up."""
    with embedded_services(msgspec.structs.replace(settings, secret_key=secret_key(settings))) as ready:
        run_db(migrate_all, ready)
        result = run_db(lambda conn: load_demo(conn, force=True), ready)
    _keep_keys(ready, result)
    say(f"{result.meetings} demobijeenkomsten geladen")
    if result.admin_key:
        say("\n".join(f"{summary.label(name)}: {key}" for name, key in _demo_keys(result).items()))
        say(f"(ook bewaard in {ready.var_dir / summary.KEYS_FILE})")
    return 0
