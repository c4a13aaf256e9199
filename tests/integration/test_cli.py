"""The `leerkring` command as a user runs it: subprocesses, real servers, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from localdev.embedded import port_open


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leerkring(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def cli_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
    env.update(
        LEERKRING_DATABASE_URL=database_url,
        LEERKRING_REDIS_URL=redis_url,
        LEERKRING_VAR_DIR=str(tmp_path),
    )
    return env


def test_api_key_commands(cli_env: dict[str, str]):
    created = leerkring(
        "api-key", "create", "--role", "organiser", "--organisation", "VNG", "--name", "cli", env=cli_env
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("lkr_")
    prefix = key.split("_")[1]
    listed = leerkring("api-key", "list", env=cli_env)
    assert prefix in listed.stdout
    assert "actief" in listed.stdout
    assert leerkring("api-key", "revoke", prefix, env=cli_env).returncode == 0
    assert "ingetrokken" in leerkring("api-key", "list", env=cli_env).stdout
    wrong = leerkring("api-key", "create", "--role", "funder", "--organisation", "VNG", env=cli_env)
    assert wrong.returncode == 1
    assert "kan geen sleutel met rol funder krijgen" in wrong.stdout


def test_import_organisations_command(cli_env: dict[str, str], tmp_path: Path):
    good = tmp_path / "regios.csv"
    good.write_text("code,name,kind,province_code\nREG-FRIES,Regio Fryslân,region,PV21\n", encoding="utf-8")
    result = leerkring("import-organisations", str(good), env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nieuw: 1" in result.stdout
    bad = tmp_path / "fout.csv"
    bad.write_text("code,name,kind\nREG-X,X,club\n", encoding="utf-8")
    result = leerkring("import-organisations", str(bad), env=cli_env)
    assert result.returncode == 1
    assert "onbekende soort 'club'" in result.stdout


def test_migrate_is_idempotent(cli_env: dict[str, str]):
    result = leerkring("migrate", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "Geen nieuwe migraties" in result.stdout


@pytest.mark.slow
def test_run_starts_everything_embedded_and_stops_cleanly(tmp_path: Path):
    """`leerkring run` with nothing configured: embedded servers, demo data, API answering, clean Ctrl-C."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
    env["LEERKRING_VAR_DIR"] = str(tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not port_open("127.0.0.1", port):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "API did not come up"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/meetings", timeout=5) as response:
            assert len(json.load(response)["items"]) == 8, "demo meetings were loaded"
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "Beheerderssleutel" in output
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", f"processes left behind: {leftovers.stdout}"
