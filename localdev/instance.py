"""One `leerkring run` per var/ folder: who runs it, on which URLs, with which children.

`var/.run.lock` carries an exclusive flock while a run is up (the kernel drops it when that process dies, even by
SIGKILL); `var/run.json` says what it started. A lock nobody holds next to a run.json means the last run was killed:
the next one stops what it left behind (each child only if it still is the same process) and takes over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from localdev.embedded.processes import kill_pid, process_identity

LOCK_FILE = ".run.lock"
STATE_FILE = "run.json"
_STOP_LEFTOVER = ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0))


class Child(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    pid: int
    identity: str


class RunState(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    base_url: str
    database_url: str | None = None
    redis_url: str | None = None
    children: list[Child] = msgspec.field(default_factory=list)


class AlreadyRunning(Exception):
    """Another live `leerkring run` holds this var/ folder."""

    def __init__(self, var_dir: Path, state: RunState | None) -> None:
        self.var_dir, self.state = var_dir, state
        super().__init__(self.advice())

    def advice(self) -> str:
        """What the user can do, in Dutch."""
        if self.state is None:
            who, stop = "", "Stop die eerst met Ctrl-C in het venster waar hij draait."
        else:
            who = f" (pid {self.state.pid}, {self.state.base_url})"
            stop = f"Stop die eerst met Ctrl-C in het venster waar hij draait, of met: kill {self.state.pid}"
        return (
            f"Leerkring draait al vanuit {self.var_dir}{who}.\n"
            f"  • {stop}\n"
            "  • Of start er een tweede naast, met een eigen map en poort:\n"
            "      LEERKRING_VAR_DIR=var2 leerkring run --port 8001"
        )


def _read_state(var_dir: Path) -> RunState | None:
    try:
        return msgspec.json.decode((var_dir / STATE_FILE).read_bytes(), type=RunState)
    except (OSError, msgspec.DecodeError):
        return None


def running(var_dir: Path) -> RunState | None:
    """What the live `leerkring run` on var_dir started, or None when no run is up there."""
    path = var_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_state(var_dir)
        return None  # nobody holds it: closing our fd drops the shared lock again
    finally:
        os.close(fd)


class Instance:
    """This process's claim on var_dir for a `leerkring run`; a context manager that releases it."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self._fd: int | None = None

    def claim(self) -> list[str]:
        """Take var_dir; returns Dutch notes on what a killed earlier run left behind and was stopped now.
        Raises AlreadyRunning when a live run holds it."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC: children must not inherit the lock, or an orphaned child would look like a live run.
        fd = os.open(self.var_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(self.var_dir, _read_state(self.var_dir)) from None
        self._fd = fd
        return self._take_over()

    def _take_over(self) -> list[str]:
        state = _read_state(self.var_dir)
        (self.var_dir / STATE_FILE).unlink(missing_ok=True)
        if state is None:
            return []
        stopped = []
        for child in state.children:
            if process_identity(child.pid) == child.identity:
                kill_pid(child.pid, _STOP_LEFTOVER)
                stopped.append(f"{child.name} (pid {child.pid})")
        if not stopped:
            return []
        return [f"• Een vorige `leerkring run` (pid {state.pid}) stopte niet netjes; gestopt: {', '.join(stopped)}"]

    def record(self, state: RunState) -> None:
        """Write what this run started, for `leerkring` commands in another terminal and for a takeover."""
        path = self.var_dir / STATE_FILE
        scratch = path.with_suffix(".tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.json.format(msgspec.json.encode(state)))
        os.replace(scratch, path)

    def release(self) -> None:
        if self._fd is None:
            return
        (self.var_dir / STATE_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def child_record(name: str, pid: int) -> Child:
    """A child as run.json keeps it: its pid and what tells it apart from a later process with that pid."""
    return Child(name=name, pid=pid, identity=process_identity(pid) or "")
