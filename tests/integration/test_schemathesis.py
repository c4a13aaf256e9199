"""The OpenAPI document against the running API: schemathesis generates requests from it, as an admin, as an
organiser and without a key, and checks every answer (no 5xx, the documented status codes, bodies that match
their schemas, problem+json content types). Bounded: a handful of examples per operation, about a minute.

One check is left out: `positive_data_acceptance` expects every schema-valid body to be accepted, but many rules
cannot be written in a JSON schema (a meeting ends after it starts, a code must exist), so 422 is right there.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Keys
from tests.servers import api_process, leerkring_env

EXAMPLES = "5"


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_the_api_answers_as_its_openapi_document_says(
    database_url: str, redis_url: str, keys: Keys, tmp_path: Path
):
    callers = {
        "admin": await keys.headers("admin"),
        "organiser": await keys.headers("organiser", "VNG"),
        "anonymous": {},
    }
    env = leerkring_env(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="schemathesis-secret-key-long-enough-to-sign",
        rate_limit_scale="0",  # thousands of requests from one address
        var_dir=str(tmp_path),
    )
    st = Path(sys.executable).with_name("st")
    async with api_process(env, log=tmp_path / "api.log") as base:
        for name, headers in callers.items():
            command = [str(st), "run", f"{base}/schema/openapi.json", "--checks", "all"]
            command += ["--exclude-checks", "positive_data_acceptance", "--phases", "fuzzing"]
            command += ["--max-examples", EXAMPLES, "--seed", "20261201", "--workers", "2", "--no-color"]
            for header, value in headers.items():
                command += ["-H", f"{header}: {value}"]
            run = await asyncio.to_thread(  # in tmp_path: schemathesis keeps a cache in its working directory
                subprocess.run, command, capture_output=True, text=True, timeout=600, cwd=tmp_path
            )
            assert run.returncode == 0, f"as {name}:\n{run.stdout[-6000:]}"
    assert "Traceback" not in (tmp_path / "api.log").read_text(), "no unhandled error on any request"
