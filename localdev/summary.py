"""What `leerkring run` prints last, once everything answers: where it runs, the keys, where mail goes.

The demo keys are shown once by the API (only their hashes are stored), so they are also kept in
var/api-keys.txt, readable by the user alone, and shown again on every later start.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from services.settings import Settings

KEYS_FILE = "api-keys.txt"
_LABELS = {
    "beheerder": "Beheerderssleutel",
    "organisator_vng": "Organisator VNG",
    "financier_aof": "Financier A&O fonds",
}


def label(name: str) -> str:
    """How the summary names a key of the keys file."""
    return _LABELS.get(name, name)


def save_keys(var_dir: Path, keys: dict[str, str]) -> Path:
    """Write the keys to var/api-keys.txt with mode 0600 from the first byte on; returns the path."""
    path = var_dir / KEYS_FILE
    scratch = path.with_suffix(".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # also when the file was there with wider permissions
        out.write("# API-sleutels van de demogegevens van deze ontwikkelomgeving (leerkring run).\n")
        out.write('# Gebruik: curl -H "Authorization: Bearer SLEUTEL" …\n')
        out.writelines(f"{name}={key}\n" for name, key in keys.items())
    os.replace(scratch, path)
    return path


def load_keys(var_dir: Path) -> dict[str, str]:
    try:
        lines = (var_dir / KEYS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(settings: Settings, *, own_mail: bool, verbose: bool) -> str:
    """The block printed last: URL, documentation, keys, mail; one line per item so nothing wraps away."""
    base = settings.base_url
    keys = load_keys(settings.var_dir)
    lines = ["", "─" * 72, f"Leerkring draait op {base}", f"  API-documentatie     {base}/schema"]
    for name, key in keys.items():
        lines.append(f"  {label(name):<20} {key}")
    keys_path = _shown(settings.var_dir / KEYS_FILE)
    if keys:
        lines.append(f"  (de sleutels staan ook in {keys_path}, alleen voor u leesbaar)")
    else:
        lines.append("  Sleutels: geen bewaard; maak er een met: leerkring api-key create --role admin")
    if own_mail:
        lines.append(f"  E-mail               niet verstuurd maar bewaard: {base}/dev/mail")
        lines.append(f"                       en als .eml-bestanden in {_shown(settings.var_dir / 'mail')}/")
    else:
        server = urlsplit(settings.smtp_url or "")
        lines.append(f"  E-mail               via {server.hostname}:{server.port or 25}")
    lines.append("Stoppen met Ctrl-C." + ("" if verbose else "  Een regel per taak van de worker: --verbose"))
    lines.append("─" * 72)
    return "\n".join(lines)
