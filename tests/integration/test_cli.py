"""The `leerkring` command as a user runs it: subprocesses, real servers, real exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from localdev.instance import AlreadyRunning, Instance, RunState, child_record, running
from tests.servers import api_process


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


class Run:
    """`leerkring run` as a person starts it, with its output collected line by line."""

    def __init__(self, var_dir: Path, port: int, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
        env["LEERKRING_VAR_DIR"] = str(var_dir)
        self.var_dir, self.port = var_dir, port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", "--port", str(port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("<einde>")
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, within: float = 120) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line or line == "<einde>" for line in self.lines), within
            )
        assert found, f"no output within {within}s:\n{self.output}"
        assert text in self.output, f"ended without {text!r}:\n{self.output}"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=90)
        self.wait_for("<einde>")
        return code

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.var_dir / "run.json").read_text())
        return result


def summary_keys(output: str) -> dict[str, str]:
    block = output[output.rindex("Leerkring draait op") :]
    return dict(
        re.findall(r"^  (Beheerderssleutel|Organisator VNG|Financier A&O fonds) +(lkr_\S+)$", block, re.MULTILINE)
    )


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def processes_of(run: Run) -> dict[str, int]:
    """Every process a run started: API and worker (run.json), PostgreSQL, Redis and the guardian."""
    found = {child["name"]: child["pid"] for child in run.state()["children"]}
    found["postgres"] = int((run.var_dir / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])
    found["redis"] = int((run.var_dir / "redis" / "redis.pid").read_text())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == run.process.pid and b"localdev.guardian" in cmdline:
                found["guardian"] = int(entry.name)
    return found


@pytest.mark.slow
def test_run_kill_9_and_start_again(tmp_path: Path):
    """A first start prints a summary last (URL, keys, where mail goes) and keeps the keys in a private file;
    kill -9 of `leerkring run` takes API, worker, PostgreSQL, Redis and the guardian with it; a second run on the
    same folder is refused with advice while one is up; the next start works and shows the same keys."""
    var_dir, port = tmp_path / "var", _free_port()
    first = Run(var_dir, port)
    try:
        first.wait_for("Stoppen met Ctrl-C")
        keys = summary_keys(first.output)
        assert set(keys) == {"Beheerderssleutel", "Organisator VNG", "Financier A&O fonds"}, first.output
        summary = first.output[first.output.rindex("Leerkring draait op") :]
        assert f"http://127.0.0.1:{port}/dev/mail" in summary
        assert "var/mail" in summary
        keys_file = var_dir / "api-keys.txt"
        assert keys_file.stat().st_mode & 0o777 == 0o600
        assert set(keys.values()) <= set(
            keys_file.read_text().split("=")[-1:] + re.findall(r"lkr_\S+", keys_file.read_text())
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"

        # What the user saved must survive a crash: the embedded PostgreSQL of `run` is durable.
        database_url = first.state()["database_url"]
        show = "SELECT string_agg(setting, ',' ORDER BY name) FROM pg_settings WHERE name = ANY($1)"
        settings = asyncio.run(_fetchval(database_url, show, ["fsync", "full_page_writes", "synchronous_commit"]))
        assert settings == "on,on,on"

        # A second terminal: commands use the running instance's database; a second run is refused.
        listed = leerkring("api-key", "list", env={**_clean_env(), "LEERKRING_VAR_DIR": str(var_dir)})
        assert "demo beheer" in listed.stdout, listed.stdout + listed.stderr
        second = Run(var_dir, _free_port())
        assert second.process.wait(timeout=60) == 1
        second.wait_for("<einde>")
        assert f"Leerkring draait al vanuit {var_dir} (pid {first.process.pid}" in second.output
        assert f"kill {first.process.pid}" in second.output

        # Jobs ran (the demo registrations were mailed), yet not one line per job and no address in the output.
        _wait_until(lambda: len(list((var_dir / "mail").glob("*.eml"))) >= 10, "demo mail")
        children = processes_of(first)
        assert set(children) == {"API", "worker", "postgres", "redis", "guardian"}, children
        first.process.kill()
        first.process.wait(timeout=30)
        _wait_until(lambda: not any(alive(pid) for pid in children.values()), f"children of a killed run: {children}")
    finally:
        if first.process.poll() is None:
            first.stop()
    assert " → " not in first.output
    assert " ← " not in first.output
    assert "@demo.leerkring.nl" not in first.output

    again = Run(var_dir, port)
    try:
        again.wait_for("Stoppen met Ctrl-C")
        assert summary_keys(again.output) == keys, "the keys of the first start are shown again"
        assert "Demogegevens geladen" not in again.output
    finally:
        code = again.stop()
    assert code == 0, again.output
    assert not (var_dir / "run.json").exists()
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", f"processes left behind: {leftovers.stdout}"


def test_run_on_a_port_in_use_says_so_before_starting_anything(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = Run(tmp_path / "var", port)
        assert run.process.wait(timeout=60) == 1
        run.wait_for("<einde>")
    assert f"Poort {port} is al in gebruik" in run.output
    assert f"--port {port + 1}" in run.output
    assert not (tmp_path / "var" / "postgres").exists(), "nothing was started"


def test_a_killed_runs_leftovers_are_stopped_by_the_next_claim(tmp_path: Path):
    """The fallback when even the lifeline failed: run.json names live processes, nobody holds the lock."""
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        state = RunState(pid=999_999, base_url="http://127.0.0.1:1", children=[child_record("API", leftover.pid)])
        tmp_path.joinpath("run.json").write_bytes(msgspec.json.encode(state))
        with Instance(tmp_path) as claim:
            notes = claim.claim()
            assert leftover.wait(timeout=30) == -signal.SIGTERM
            assert notes == [
                f"• Een vorige `leerkring run` (pid 999999) stopte niet netjes; gestopt: API (pid {leftover.pid})"
            ]
            assert running(tmp_path) is None, "no state recorded yet"
            claim.record(state)
            assert running(tmp_path) == state, "other commands see the live run"
            with pytest.raises(AlreadyRunning, match="kill 999999"):
                Instance(tmp_path).claim()
        assert running(tmp_path) is None
    finally:
        leftover.kill()
        leftover.wait()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}


def _wait_until(condition: Callable[[], bool], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        time.sleep(0.05)


async def _fetchval(dsn: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_api_closes_idle_keep_alive_connections_after_the_configured_time(
    cli_env: dict[str, str], tmp_path: Path
):
    """The keep-alive setting reaches uvicorn: with 1 s the server itself closes the idle connection."""
    async with api_process(cli_env, "--keep-alive", "1", log=tmp_path / "api.log") as base:
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: leerkring.test\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
            await reader.readexactly(length)
            # Nothing more is sent: the next thing to arrive is the server closing the connection.
            async with asyncio.timeout(30):
                assert await reader.read() == b""
        finally:
            writer.close()
