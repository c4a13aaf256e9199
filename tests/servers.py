"""Leerkring's own processes for tests that need the real HTTP stack: `leerkring api` on a free port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leerkring_env(**values: str) -> dict[str, str]:
    """This environment without any LEERKRING_* of the developer's, plus `values` (LEERKRING_ prefixed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
    env.update({f"LEERKRING_{k.upper()}": v for k, v in values.items()})
    return env


@asynccontextmanager
async def api_process(env: dict[str, str], *args: str, log: Path, port: int | None = None) -> AsyncIterator[str]:
    """`leerkring api --port N ARGS` until the block ends; yields its base URL once /healthz answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "services.cli", "api", "--port", str(port), *args]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(60), httpx.AsyncClient(base_url=base, timeout=5) as client:
            while True:
                assert process.poll() is None, f"the API process died on start; its output is in {log}"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)  # not listening yet: poll again
        yield base
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
