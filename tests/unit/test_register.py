"""One voice (issue 11): every Dutch text people read from the API, the pages and the mails says "je", never "u".

Reads every string constant in services/, workers/ and schemas/ (with `ast`, so code and comments do not count)
and every template, and fails on the formal pronouns. Vendored files are not ours and are skipped."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMAL = re.compile(r"(?<![\w-])(u|uw|Uw|U|uzelf|Uzelf)(?![\w-])")
# Strings that are not Dutch prose for people: single letters in code, regular expressions, format codes.
_NOT_PROSE = re.compile(r"^[\w\s.:%{}()\[\]|^$*+?\\/-]{0,3}$")
_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WITH)\b")


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and not _NOT_PROSE.match(node.value)
            and not _SQL.search(node.value)  # table aliases such as `u`
        ):
            found.append((node.lineno, node.value))
    return found


def test_no_formal_you_in_what_people_read() -> None:
    offenders = []
    for package in ("services", "workers", "schemas"):
        for path in sorted((ROOT / package).rglob("*")):
            if "vendor" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                texts = _strings(path)
            elif path.suffix in (".html", ".txt"):
                texts = list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))
            else:
                continue
            where = path.relative_to(ROOT)
            offenders += [f"{where}:{line}: {text[:80]!r}" for line, text in texts if FORMAL.search(text)]
    assert not offenders, "\n".join(offenders)
