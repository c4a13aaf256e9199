"""What every embedded server shares: one owner per data directory, start/stop, stopping on exit and signals."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

from localdev import lifeline
from localdev.embedded.processes import EmbeddedServerError, log_tail, stop_child

# Servers started by this process, newest last, stopped in reverse order at exit or on a fatal signal.
_running: list[EmbeddedServer] = []
# Re-entrant: a signal handler runs on the main thread, possibly while that thread already holds the lock.
_registry_lock = threading.RLock()
_hooks_installed = False


def _stop_all() -> None:
    with _registry_lock:
        servers = list(reversed(_running))
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    _stop_all()
    # Then die the way the signal would have killed us, so the parent still sees "terminated by SIGTERM".
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    # Ctrl-C raises KeyboardInterrupt, which unwinds into atexit. SIGTERM and SIGHUP kill without running atexit,
    # so they get a handler, but only where nobody else installed one (uvicorn, arq and pytest-xdist bring their
    # own and end by exiting normally) and only on the main thread, the one place Python allows it.
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _on_fatal_signal)


class EmbeddedServer:
    lock_name = ".embedded.lock"
    start_timeout = 60.0

    def __init__(self, data_dir: Path, *, die_with_owner: bool = True) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        # The server goes when its owner goes, even by SIGKILL (localdev/lifeline.py). Without it (tests of the
        # fallback), a server orphaned that way is stopped by the next owner of the data directory.
        self.die_with_owner = die_with_owner
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None
        self._lock_fd: int | None = None
        self._owner_pid = 0
        self._mutex = threading.RLock()

    @property
    def url(self) -> str:
        if self._url is None:
            raise EmbeddedServerError(f"{type(self).__name__} is not running")
        return self._url

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server (a no-op when it already runs) and return its URL; raises EmbeddedServerError."""
        with self._mutex:
            if self._url is not None and self.running:
                return self._url
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
            self._owner_pid = os.getpid()
            try:
                self._stop_orphan()
                self._url = self._launch()
            except BaseException:
                self.stop()
                raise
            with _registry_lock:
                if self not in _running:
                    _running.append(self)
            _install_exit_hooks()
            return self._url

    def stop(self) -> None:
        """Stop the server and wait for it to exit; safe to call more than once."""
        with self._mutex:
            if self._owner_pid != os.getpid():
                # A forked child inherited this object; the server belongs to the parent.
                return
            try:
                self._end_process()
                self._after_stop()
            finally:
                self._url = None
                with _registry_lock:
                    if self in _running:
                        _running.remove(self)
                if self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing releases the flock
                    self._lock_fd = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _acquire_lock(self) -> None:
        if self._lock_fd is not None:
            return
        path = self.data_dir / self.lock_name
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise EmbeddedServerError(f"{self.data_dir} is in use by another process (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _spawn(self, args: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        if self.die_with_owner:
            return lifeline.spawn(args, stop_signal=self._stop_steps()[0][0], **popen)
        return subprocess.Popen(args, **popen)

    def _end_process(self) -> None:
        """Stop the server process (if any) and wait for it; the lifeline forgets it once it is reaped."""
        if self._process is not None:
            stop_child(self._process, self._stop_steps())
            if self.die_with_owner:
                lifeline.forget(self._process.pid)
            self._process = None

    def _wait(self, proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if proc.poll() is not None:
                raise EmbeddedServerError(f"{type(self).__name__} exited with {proc.returncode}:\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"{type(self).__name__} not ready after {self.start_timeout}s")
            time.sleep(0.01)

    def _stop_steps(self) -> Sequence[tuple[signal.Signals, float]]:
        return ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0))

    def _stop_orphan(self) -> None:
        raise NotImplementedError

    def _launch(self) -> str:
        raise NotImplementedError

    def _after_stop(self) -> None:
        """Remove what only lives while the server runs."""
