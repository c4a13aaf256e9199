"""Lint Leerkring's OpenAPI document with Spectral and the official NLGov API Design Rules ruleset (a manual step).

    .venv/bin/python tools/nlgov_lint.py RULESET.yaml

RULESET.yaml: Logius' `media/linter.yaml` (repository Logius-standaarden/API-Design-Rules; developer.overheid.nl
publishes the same file as its ADR ruleset). Not shipped here: it is Logius' to publish, and it changes with the
rules. The first run installs @stoplight/spectral-cli (pinned below, about 70 MB of Node packages) into
var/spectral with npm; nothing of it is needed by the tests, which check the same rules in Python
(tests/nlgov_rules.py, tests/integration/test_openapi_nlgov.py). Prints Spectral's findings and exits with its code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.app import create_app  # noqa: E402 - after the path fix above
from services.openapi import document_problems  # noqa: E402
from services.settings import Settings  # noqa: E402

SPECTRAL = "@stoplight/spectral-cli@6.16.3"
PLACE = ROOT / "var" / "spectral"


def document() -> Path:
    """The document as the API serves it (start-up hook included), for a production-like https base URL."""
    settings = Settings(
        base_url="https://leerkring.example.nl",
        secret_key="x" * 40,
        mail_from="noreply@example.nl",
        # Only to build the app: nothing connects while the document is made.
        database_url="postgresql://localhost/leerkring",
        redis_url="redis://localhost",
    )
    app = create_app(settings)
    document_problems(app)
    path = PLACE / "openapi.json"
    path.write_text(json.dumps(app.openapi_schema.to_schema(), default=str))
    return path


def spectral() -> Path:
    binary = PLACE / "node_modules" / ".bin" / "spectral"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install Spectral (apt-get install npm)")
        subprocess.run([npm, "install", "--prefix", str(PLACE), "--no-audit", "--no-fund", SPECTRAL], check=True)  # noqa: S603
    return binary


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        sys.stderr.write(__doc__ or "")
        return 2
    PLACE.mkdir(parents=True, exist_ok=True)
    target = document()
    return subprocess.call([str(spectral()), "lint", "-r", str(Path(argv[0]).resolve()), str(target), "-f", "text"])  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
