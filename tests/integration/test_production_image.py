"""What the production image holds (deploy/Dockerfile.dockerignore lets in only some paths) runs without the
development package: production commands work, development-only ones refuse in Dutch, the app has no /dev/mail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"


def image_paths() -> list[str]:
    """The allow-list of the build context: '*' shuts everything out, each '!path' lets one back in."""
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    assert "*" in lines, "the build context is an allow-list"
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def test_the_image_leaves_the_development_package_out():
    allowed = image_paths()
    assert {"services", "workers", "schemas", "pyproject.toml"} <= set(allowed)
    assert not any(path == "localdev" or path.startswith("localdev/") for path in allowed)
    assert "RUN /opt/leerkring/bin/python -c" in (ROOT / "deploy" / "Dockerfile").read_text(), "checked at build"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files of the build context, copied as the image gets them (the code; packages come from this venv)."""
    copy = tmp_path_factory.mktemp("image")
    for path in image_paths():
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, copy / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / path)
    return copy


def in_image(image: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` on the image's files only: -S skips the .pth files, so this checkout's editable install (which
    would find localdev) is not on the path; the installed third-party packages are."""
    bootstrap = f"import sys; sys.path[:0] = [{str(image)!r}, {sysconfig.get_paths()['purelib']!r}]\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEERKRING_")}
    return subprocess.run(
        [sys.executable, "-S", "-c", bootstrap + code],
        cwd=image,
        env={**clean, **{f"LEERKRING_{k.upper()}": v for k, v in env.items()}},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_commands_work_without_it(image: Path, database_url: str, redis_url: str):
    assert "ModuleNotFoundError" in in_image(image, "import localdev").stderr
    key = "a-production-key-long-enough-to-sign-links"
    env = {"environment": "production", "database_url": database_url, "redis_url": redis_url, "secret_key": key}
    migrated = in_image(image, "from services.cli import main; sys.exit(main(['migrate']))", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Geen nieuwe migraties" in migrated.stdout
    app = in_image(
        image,
        "from services.app import create_app; from services.settings import load_settings\n"
        "app = create_app(load_settings())\n"
        "print(sorted(r.path for r in app.routes if r.path.startswith('/dev')), 'localdev' in sys.modules)",
        **env,
    )
    assert app.returncode == 0, app.stderr
    assert app.stdout.strip() == "[] False"


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        ("run", "production", "`leerkring run` is alleen voor ontwikkeling en draait niet in productie."),
        ("demo", "production", "`leerkring demo` is alleen voor ontwikkeling en draait niet in productie."),
        ("run", "development", "Het ontwikkelpakket (localdev"),
        ("migrate", "production", "In productie zijn LEERKRING_DATABASE_URL en LEERKRING_REDIS_URL verplicht"),
        ("migrate", "development", "Het ontwikkelpakket (localdev"),
    ],
)
def test_what_needs_it_refuses_in_dutch(image: Path, tmp_path: Path, command: str, environment: str, says: str):
    env = {
        "environment": environment,
        "secret_key": "a-production-key-long-enough-to-sign-links",
        "var_dir": str(tmp_path),
    }
    result = in_image(image, f"from services.cli import main; sys.exit(main([{command!r}]))", **env)
    assert result.returncode != 0
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key", ["replace-with-a-long-random-string", "kort-en-zwak"])
def test_production_refuses_a_placeholder_or_short_secret_key(image: Path, tmp_path: Path, key: str):
    env = {"environment": "production", "secret_key": key, "var_dir": str(tmp_path)}
    result = in_image(image, "from services.cli import main; sys.exit(main(['migrate']))", **env)
    assert result.returncode != 0
    assert "LEERKRING_SECRET_KEY is te kort of een voorbeeldwaarde" in result.stderr, result.stderr
