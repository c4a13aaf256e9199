"""The API and worker of `leerkring run` as child processes: started with a lifeline, waited for, stopped."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from types import FrameType

from localdev import lifeline
from localdev.instance import Child, child_record

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class Supervisor:
    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()

    def start(self, name: str, *args: str) -> None:
        """`leerkring ARGS` as a child that gets SIGTERM when this process dies, however it dies."""
        command = [sys.executable, "-m", "services.cli", *args]
        self.children[name] = lifeline.spawn(command, stop_signal=signal.SIGTERM, env=self._env)

    def records(self) -> list[Child]:
        return [child_record(name, process.pid) for name, process in self.children.items()]

    def _exited(self) -> tuple[str, int] | None:
        for name, process in self.children.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def wait_ready(self, url: str) -> str | None:
        """Poll `url` (the API's /readyz) until it answers 200; None then, else why not (in Dutch)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not self._stopping.is_set():
            if (exited := self._exited()) is not None:
                return f"De {exited[0]} stopte tijdens het starten (code {exited[1]})."
            # 503 (not ready yet) raises HTTPError, a URLError; refused connections raise URLError too.
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - our own http:// URL
            ):
                if response.status == 200:
                    return None
            self._stopping.wait(0.1)
        return "Gestopt tijdens het starten." if self._stopping.is_set() else f"{url} antwoordde niet binnen 120 s."

    def on_signals(self) -> None:
        """Ctrl-C and SIGTERM ask for an orderly stop instead of interrupting whatever runs."""

        def stop(signum: int, frame: FrameType | None) -> None:
            self._stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

    def supervise(self) -> int:
        """Until asked to stop or until a child exits; returns the exit code for `leerkring run`."""
        while not self._stopping.wait(0.2):
            if (exited := self._exited()) is not None:
                name, code = exited
                print(f"De {name} stopte onverwacht (code {code}); alles wordt gestopt.", flush=True)  # noqa: T201
                return code or 1
        return 0

    def stop(self) -> None:
        """SIGTERM every child, wait for them (SIGKILL after STOP_TIMEOUT), and tell the lifeline they are gone."""
        for process in self.children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.children.values():
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            lifeline.forget(process.pid)
