#!/usr/bin/env python3
"""The one bootstrap script: needs only Python 3.11 (no make, no docker).

    python3 dev.py run [ARGS...]    create .venv if needed, install, then `leerkring run ARGS...`
    python3 dev.py test [ARGS...]   install, then ruff check, ruff format --check, mypy, pytest -n auto ARGS...
    python3 dev.py bench [ARGS...]  install, then every benchmark and one table of their ratios (bench/run_all.py)
    python3 dev.py lock             write requirements.lock anew from pyproject.toml (a fresh venv, pip freeze)

The virtualenv is reinstalled (`pip install -c requirements.lock -e .[dev]`) whenever pyproject.toml or
requirements.lock changed since the last install.
Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".leerkring-install-stamp"
LOCK = ROOT / "requirements.lock"
REQUIRED = (3, 11)  # pyproject.toml: requires-python = ">=3.11,<3.12"
WANTED = ".".join(map(str, REQUIRED))

USAGE = """\
usage: python3 dev.py COMMAND [ARGS...]

commands:
  run   [ARGS...]  set up .venv when needed, then start everything locally (`leerkring run ARGS...`):
                   embedded PostgreSQL, Redis and mail sink unless LEERKRING_*_URL point elsewhere;
                   ARGS: --host 127.0.0.1 --port 8000 --verbose
  test  [ARGS...]  set up .venv when needed, then ruff check, ruff format --check, mypy and
                   pytest -n auto ARGS... ; stops at the first failing step with its exit code
  bench [ARGS...]  every benchmark in bench/, then one table: figure, baseline measured in the same run, ratio,
                   aim, met (bench/run_all.py); ARGS: --quick --only feeds,worker --record
  lock             resolve pyproject.toml afresh in a throw-away venv and write requirements.lock

The first run creates .venv and installs the project with the versions in requirements.lock
(`pip install -c requirements.lock -e .[dev]`); later runs reinstall only when either file changed.
"""


def say(text: str) -> None:
    print(f"dev.py: {text}", flush=True)


def header(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def fail(text: str, code: int = 1) -> int:
    print(f"dev.py: error: {text}", file=sys.stderr, flush=True)
    return code


def find_python() -> str | None:
    """An interpreter of the required version for creating .venv: this one, or python3.11 on PATH."""
    if sys.version_info[:2] == REQUIRED:
        return sys.executable
    return shutil.which(f"python{WANTED}")


def venv_version() -> str | None:
    """The Python version .venv was made with ("3.11"), from its pyvenv.cfg."""
    try:
        lines = (VENV / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in {"version", "version_info"}:
            return ".".join(value.strip().split(".")[:2])
    return None


def ensure_venv() -> int:
    """Create .venv when missing and (re)install the project when pyproject.toml changed; returns an exit code."""
    if not PYTHON.exists():
        python = find_python()
        if python is None:
            found = ".".join(map(str, sys.version_info[:2]))
            return fail(f"Leerkring needs Python {WANTED} (found {found}); install it and run: python{WANTED} dev.py")
        header(f"creating {VENV.relative_to(ROOT)} with {python}")
        code = subprocess.call([python, "-m", "venv", str(VENV)])
        if code != 0:
            # Debian/Ubuntu ship venv without ensurepip unless python3.11-venv is installed.
            return fail("could not create .venv (on Debian/Ubuntu: apt install python3.11-venv)", code)
    made_with = venv_version()
    if made_with not in {None, WANTED}:
        return fail(f".venv was made with Python {made_with}, Leerkring needs {WANTED}: delete .venv and run again")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return 0
    header(
        "installing the project into .venv (pip install -c requirements.lock -e .[dev]; the first time takes a "
        "minute or two)"
    )
    started = time.monotonic()
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # The lock file pins every version (constraints: it decides versions, pyproject.toml decides what is installed).
    code = subprocess.call([*pip, "-c", str(LOCK), "-e", ".[dev]"])
    if code != 0:
        # No stamp: the next run tries again instead of trusting a half-finished install.
        return fail("pip install failed", code)
    STAMP.write_text(digest + "\n")
    say(f"installed in {time.monotonic() - started:.1f}s")
    return 0


def venv_env() -> dict[str, str]:
    """The environment of an activated .venv, so tools and tests that spawn `leerkring` or `python` find ours."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.pop("PYTHONHOME", None)
    return env


def run(args: list[str]) -> int:
    code = ensure_venv()
    if code != 0:
        return code
    leerkring = BIN / ("leerkring.exe" if os.name == "nt" else "leerkring")
    if not leerkring.exists():
        return fail(f"{leerkring} is missing; delete {STAMP} and run again to reinstall")
    argv = [str(leerkring), "run", *args]
    if os.name == "nt":
        return subprocess.call(argv, env=venv_env())
    # exec: Ctrl-C and SIGTERM go straight to leerkring, which shuts down its embedded servers itself (and its
    # children die with it even on kill -9: localdev/lifeline.py).
    os.execve(argv[0], argv, venv_env())  # noqa: S606 replacing this process is the point
    return 0  # not reached


def test(args: list[str]) -> int:
    code = ensure_venv()
    if code != 0:
        return code
    steps = [
        ("ruff check", [str(BIN / "ruff"), "check", "."]),
        ("ruff format --check", [str(BIN / "ruff"), "format", "--check", "."]),
        ("mypy", [str(BIN / "mypy")]),  # which packages and how strict: [tool.mypy] in pyproject.toml
        ("pytest", [str(PYTHON), "-m", "pytest", "-n", "auto", *args]),
    ]
    env = venv_env()
    started = time.monotonic()
    for number, (name, argv) in enumerate(steps, 1):
        header(f"[{number}/{len(steps)}] {name}")
        step_started = time.monotonic()
        code = subprocess.call(argv, env=env)
        took = time.monotonic() - step_started
        if code != 0:
            print(f"\n==> FAILED: {name} (exit {code}) after {took:.1f}s; total {time.monotonic() - started:.1f}s")
            return code
        print(f"==> ok: {name} ({took:.1f}s)")
    print(f"\n==> all {len(steps)} steps passed in {time.monotonic() - started:.1f}s")
    return 0


def bench(args: list[str]) -> int:
    code = ensure_venv()
    if code != 0:
        return code
    return subprocess.call([str(PYTHON), str(ROOT / "bench" / "run_all.py"), *args], env=venv_env())


def lock() -> int:
    """Resolve pyproject.toml (all extras) in a fresh venv, without the current lock, and write what pip chose."""
    import tempfile

    python = find_python()
    if python is None:
        return fail(f"Leerkring needs Python {WANTED}")
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        code = subprocess.call([python, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        code = code or subprocess.call([*pip, "install", "--quiet", "--disable-pip-version-check", ".[dev]"])
        if code != 0:
            return fail("pip install failed", code)
        frozen = subprocess.run([*pip, "freeze", "--exclude-editable"], capture_output=True, text=True, check=True)
    head = [line for line in LOCK.read_text().splitlines() if line.startswith("#")] if LOCK.exists() else []
    pins = [line for line in frozen.stdout.splitlines() if line and not line.lower().startswith("leerkring")]
    LOCK.write_text("\n".join([*head, *pins]) + "\n")
    say(f"wrote {LOCK.name}: {len(pins)} pinned packages")
    return 0


def main(argv: list[str]) -> int:
    os.chdir(ROOT)  # so relative paths (.venv, pyproject.toml, ".") mean this checkout from any cwd
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE, end="")
        return 0
    command, args = argv[0], argv[1:]
    if command == "run":
        return run(args)
    if command == "test":
        return test(args)
    if command == "bench":
        return bench(args)
    if command == "lock":
        return lock()
    print(USAGE, end="", file=sys.stderr)
    return fail(f"unknown command {command!r}", 2)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
