"""Embedded PostgreSQL 16 from the pgserver wheel, run by its owner process on a private unix socket."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from localdev.embedded.processes import EmbeddedServerError, cmdline, kill_pid, package_dir
from localdev.embedded.server import EmbeddedServer

DATABASE = "leerkring"
PG_SUPERUSER = "postgres"
# pgserver's own launcher runs PostgreSQL as this OS user when started as root (postgres refuses to run as root);
# using the same name keeps data directories interchangeable with it.
PG_OS_USER = "pgserver"
# What a throwaway server turns off; a durable one (the default) runs with all three on.
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


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


class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL 16 from the pgserver wheel, on a private unix socket, with a `leerkring` database."""

    lock_name = ".embedded-postgres.lock"

    def __init__(self, data_dir: Path, *, throwaway: bool = False, die_with_owner: bool = True) -> None:
        super().__init__(data_dir, die_with_owner=die_with_owner)
        # `leerkring run` keeps var/ between starts, so what a user saved must survive a crash: durable by default.
        # Tests ask for throwaway: no fsync, several times faster commits, and a crash may corrupt the data
        # directory (which they delete anyway).
        self.throwaway = throwaway
        self.pgdata = self.data_dir / "pgdata"
        self.log_path = self.data_dir / "postgresql.log"
        self._bin = package_dir("pgserver") / "pginstall" / "bin"
        self._socket_dir: Path | None = None
        self._socket_note = self.data_dir / "socket-dir"

    @property
    def dsn(self) -> str:
        return self.url

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Stop PostgreSQL for the duration of the block, then start it again on the same socket: what clients see
        of a restart (fast shutdown, refused connections, the same DSN afterwards). For fault tests."""
        with self._mutex:
            if self._process is None:
                raise EmbeddedServerError("EmbeddedPostgres is not running")
            self._end_process()
        try:
            yield
        finally:
            with self._mutex:
                self._url = self._launch()

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
        self._remove_socket_dir_of_last_start()
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return
        command = cmdline(pid)
        # The postmaster's command line is "<bin>/postgres -D <pgdata> -c ...": match the folder exactly so that a
        # recycled pid or a server on a neighbouring folder is left alone.
        if command is not None and "postgres" in command and f" {self.pgdata} " in f"{command} ":
            kill_pid(pid, self._stop_steps())
        # A killed postmaster leaves its pid file; if that pid is now a zombie or another program PostgreSQL
        # would refuse to start ("lock file already exists"), and no server of ours can be running: we hold the lock.
        pidfile.unlink(missing_ok=True)
        if len(lines) > 4 and Path(lines[4]).name.startswith("leerkring-pg-"):
            shutil.rmtree(lines[4], ignore_errors=True)

    def _remove_socket_dir_of_last_start(self) -> None:
        # A server that died with its owner shut down cleanly (no postmaster.pid left to name the socket folder),
        # but the owner never got to remove the folder: the path written at start tells.
        try:
            last = Path(self._socket_note.read_text().strip())
        except OSError:
            return
        if last.name.startswith("leerkring-pg-") and last.parent == Path(tempfile.gettempdir()):
            shutil.rmtree(last, ignore_errors=True)
        self._socket_note.unlink(missing_ok=True)

    def _initdb(self, owner: tuple[int, int] | None) -> None:
        # initdb into a scratch folder and rename: an interrupted initdb must not leave a half-made pgdata behind.
        scratch = self.data_dir / "pgdata.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if owner is not None:
            os.chown(scratch, *owner)
        args = ["-D", str(scratch), "-U", PG_SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale"]
        if self.throwaway:
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
        if self._socket_dir is None:  # kept over an outage(), so the DSN stays the same
            self._socket_dir = Path(tempfile.mkdtemp(prefix="leerkring-pg-"))
            if owner is not None:
                os.chown(self._socket_dir, *owner)
            self._socket_note.write_text(f"{self._socket_dir}\n")
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self._socket_dir),
            "max_connections": "200",
            # Named either way, so a postgresql.auto.conf left in pgdata cannot quietly turn durability off.
            **dict.fromkeys(DURABILITY, "off" if self.throwaway else "on"),
        }
        args = [str(self._bin / "postgres"), "-D", str(self.pgdata)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self._process = proc = self._spawn(
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
        self._socket_note.unlink(missing_ok=True)
