"""How `leerkring api` runs uvicorn and what the command line accepts: the defaults that matter in production."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from services.cli import build_parser
from services.commands.context import configure_logging
from services.commands.serve import uvicorn_options
from services.settings import Settings, load_settings

# Idle timeouts of the load balancers Leerkring is put behind; the API must keep connections open longer, so that
# the balancer, not the API, closes an idle one (else a request can go out on a connection being closed: a reset).
# (Google Cloud's load balancer keeps backend connections 600 s: deploy/README.md says to raise the setting there.)
LOAD_BALANCER_IDLE_SECONDS = {"AWS ALB": 60, "nginx upstream keepalive_timeout": 60}


def test_keep_alive_outlasts_a_load_balancers_idle_timeout():
    options = uvicorn_options(Settings(), build_parser().parse_args(["api"]))
    assert options["timeout_keep_alive"] == 75
    assert all(options["timeout_keep_alive"] > idle for idle in LOAD_BALANCER_IDLE_SECONDS.values())


def test_keep_alive_from_the_environment_or_the_command_line():
    settings = load_settings({"LEERKRING_KEEP_ALIVE_TIMEOUT": "300"}, dotenv=None)
    assert uvicorn_options(settings, build_parser().parse_args(["api"]))["timeout_keep_alive"] == 300
    args = build_parser().parse_args(["api", "--keep-alive", "20", "--workers", "2", "--host", "192.0.2.10"])
    options = uvicorn_options(settings, args)
    assert (options["timeout_keep_alive"], options["workers"], options["host"]) == (20, 2, "192.0.2.10")


def test_run_documents_host_port_and_verbose():
    args = build_parser().parse_args(["run", "--host", "192.0.2.10", "--port", "8080", "--verbose"])
    assert (args.host, args.port, args.verbose) == ("192.0.2.10", 8080, True)
    assert build_parser().parse_args(["run"]).verbose is False


@pytest.fixture
def job_loggers() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in ("arq.worker", "arq.jobs")}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("job_loggers")
@pytest.mark.parametrize(("log_jobs", "level"), [(False, logging.WARNING), (True, logging.INFO)])
def test_job_lines_only_on_request(log_jobs: bool, level: int):
    configure_logging(Settings(log_jobs=log_jobs))
    assert logging.getLogger("arq.worker").level == level
    assert logging.getLogger("arq.jobs").level == level


def test_a_wrong_log_level_is_refused_in_dutch():
    with pytest.raises(SystemExit, match="Ongeldige LEERKRING_LOG_LEVEL 'luid'"):
        configure_logging(Settings(log_level="luid"))
