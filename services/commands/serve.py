"""`leerkring api` and `leerkring worker`: the long-running processes."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

from services.commands.context import child_env, configure_logging, logging_config, services
from services.observe.metrics import MULTIPROC_ENV
from services.settings import Settings


def uvicorn_options(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """How `leerkring api` runs uvicorn: one place, so the defaults that matter behind a load balancer are tested."""
    keep_alive = args.keep_alive if args.keep_alive is not None else settings.keep_alive_timeout
    return {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "loop": "uvloop",
        "http": "httptools",
        "proxy_headers": True,
        # Idle keep-alive connections stay open longer than a load balancer's idle timeout (60 s at AWS ALB, nginx
        # upstream pools similar), so the balancer, not us, closes them: with uvicorn's 5 s a pooled connection
        # could be closed by us just as a request went out on it, and that request saw a reset.
        "timeout_keep_alive": keep_alive,
        "log_level": settings.log_level.lower(),
        # Every server process logs as the rest of Leerkring does (JSON in production), request ids included.
        "log_config": logging_config(settings),
        "access_log": False,
    }


def share_metrics(settings: Settings) -> Path:
    """Several server processes answer on one port, so any of them may get the scrape: prometheus-client's
    multiprocess mode lets each write its figures to files in one directory and every /metrics read them all. The
    directory is emptied at start (figures of an earlier run would be added in); an operator's own
    PROMETHEUS_MULTIPROC_DIR is kept, and emptied likewise."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or settings.var_dir / "metrics")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    configure_logging(settings)
    with services(settings) as ready:
        # uvicorn's factory reads the settings again from the environment, in every worker process it starts.
        os.environ.update(child_env(ready))
        if args.workers > 1:
            share_metrics(ready)
        uvicorn.run("services.asgi:create", **uvicorn_options(ready, args))
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from workers.runner import run_worker

    configure_logging(settings)
    with services(settings) as ready:
        run_worker(ready)
    return 0
