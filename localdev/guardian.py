"""The guardian of localdev/lifeline.py: stops the watched processes when its owner dies.

    python -I -m localdev.guardian      reads lines from its owner on stdin: "watch PID SIGNAL", "forget PID"

End of file on stdin means the owner is gone (the kernel closed the pipe's write end, which only the owner held):
every watched process that is still the process it was (same start time) gets its signal, then SIGKILL after
GRACE_SECONDS. Standard library only, and nothing printed unless something goes wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from localdev.embedded.processes import process_identity

GRACE_SECONDS = 30.0


def _alive(watched: dict[int, tuple[signal.Signals, str]]) -> dict[int, tuple[signal.Signals, str]]:
    return {pid: (sig, ident) for pid, (sig, ident) in watched.items() if process_identity(pid) == ident}


def stop(watched: dict[int, tuple[signal.Signals, str]]) -> None:
    """Signal every watched process, wait for them, SIGKILL whoever is left."""
    for pid, (sig, _) in _alive(watched).items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := _alive(watched)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def main() -> int:
    # Ctrl-C and a closed terminal are for the owner; the guardian's end is the end of its stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    watched: dict[int, tuple[signal.Signals, str]] = {}
    for raw in sys.stdin.buffer:
        words = raw.decode(errors="replace").split()
        if len(words) == 3 and words[0] == "watch" and words[1].isdigit() and words[2].isdigit():
            identity = process_identity(int(words[1]))
            if identity is not None:
                watched[int(words[1])] = (signal.Signals(int(words[2])), identity)
        elif len(words) == 2 and words[0] == "forget" and words[1].isdigit():
            watched.pop(int(words[1]), None)
    stop(watched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
