"""Children that die with their parent, however the parent dies (kill -9 included).

Two mechanisms, because either alone has a gap:

* Linux's PR_SET_PDEATHSIG (through ctypes, in the child between fork and exec): the kernel signals the child the
  moment its parent exits. Linux only, and tied to the *thread* that forked, so it is used only from the main thread.
* A guardian process (localdev/guardian.py) that holds the read end of a pipe whose write end only this process has.
  When this process dies the kernel closes the write end, the guardian reads end-of-file and signals every process
  it was told to watch. Works on any POSIX system and from any thread.

A child stopped the normal way is forgotten first, so a recycled pid is never signalled (the guardian also checks
that a pid still is the process it was given, by its start time).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1
_lock = threading.Lock()
_guardian: tuple[int, int, subprocess.Popen[bytes]] | None = None  # (owner pid, write end, guardian process)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` for Popen: the child receives `sig` when this process exits. None where that is not possible
    (not Linux, or not the main thread: the kernel would signal when the forking thread exits, not the process)."""
    prctl = _prctl()
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)  # a failure leaves the guardian, which still covers it
        if os.getppid() != parent:
            os._exit(1)  # the parent died before prctl took effect: nobody would signal us

    return preexec


def _send(line: str) -> None:
    global _guardian
    with _lock:
        if _guardian is not None and _guardian[0] != os.getpid():
            _guardian = None  # a forked child: the guardian belongs to the parent
        if _guardian is None:
            if line.startswith("forget"):
                return
            read_end, write_end = os.pipe()  # both non-inheritable: only the guardian gets the read end, as stdin
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-m", "localdev.guardian"],
                    stdin=read_end,
                    stdout=subprocess.DEVNULL,
                    # Its own session: Ctrl-C in the terminal is for us; we stop our children ourselves.
                    start_new_session=True,
                )
            finally:
                os.close(read_end)
            _guardian = (os.getpid(), write_end, process)
        with contextlib.suppress(BrokenPipeError):  # the guardian is gone; PR_SET_PDEATHSIG may still cover it
            os.write(_guardian[1], line.encode() + b"\n")


def watch(pid: int, sig: signal.Signals) -> None:
    """When this process dies, however, `pid` gets `sig` (then SIGKILL if it lingers)."""
    _send(f"watch {pid} {int(sig)}")


def forget(pid: int) -> None:
    """`pid` was stopped and reaped the normal way: the guardian must leave its number alone."""
    _send(f"forget {pid}")


def spawn(args: Sequence[str], *, stop_signal: signal.Signals, **popen: Any) -> subprocess.Popen[bytes]:
    """Popen whose child dies with this process: `stop_signal` from the kernel (Linux) and from the guardian."""
    process: subprocess.Popen[bytes] = subprocess.Popen(args, preexec_fn=die_with_parent(stop_signal), **popen)  # noqa: S603
    watch(process.pid, stop_signal)
    return process
