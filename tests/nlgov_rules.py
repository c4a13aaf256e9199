"""The NLGov REST API Design Rules (Logius) that can be checked in an OpenAPI document: the rules the official
Spectral ruleset checks, written out in Python because nothing may be fetched at run time (README, "NLGov API
Design Rules"). `violations(document)` lists every finding as text; an empty list means the document passes.

One deliberate deviation (explained in the README): `servers` is the host, the major version is in every API path
(`/api/v1/…`); the check here is that every path carries it, or is one of the unversioned feeds.
"""

from __future__ import annotations

import re
from typing import Any

CAMEL = re.compile(r"^\$?[a-z][a-z\d]*([A-Z][a-z\d]*)*$")  # /core/query-keys-camel-case, "how to test"
KEBAB = re.compile(r"^(\/|(\/_[a-z0-9]+|\/(([a-z0-9\-]+|{[^}]+})(\/([a-z0-9\-\.]+|{[^}]+}))*)(\/_[a-z]+)?)\/?)$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Outside the versioned API: calendar feeds (calendar apps keep a subscribed URL for years).
UNVERSIONED = ("/feeds/",)
PROBLEM_MEMBERS = {"status", "title", "detail"}


def violations(document: dict[str, Any]) -> list[str]:
    found = _document(document)
    for path in document["paths"]:
        found += _path(path)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found += _operation(document, f"{method.upper()} {path}", method, operation)
    return found


def _document(document: dict[str, Any]) -> list[str]:
    """/core/doc-openapi, /core/semver, /core/doc-openapi-contact, https servers."""
    found = []
    if not re.fullmatch(r"3(\.\d+){1,2}", document["openapi"]):
        found.append(f"openapi {document['openapi']}: use OpenAPI 3")
    if not SEMVER.match(document["info"]["version"]):
        found.append(f"info.version {document['info']['version']} is not semver")
    contact = document["info"].get("contact") or {}
    found += [f"info.contact.{field} missing" for field in ("email", "name", "url") if not contact.get(field)]
    found += [f"server {s['url']} is not https" for s in document.get("servers", []) if s["url"].startswith("http:")]
    return found


def _path(path: str) -> list[str]:
    """/core/path-segments-kebab-case, /core/no-trailing-slash, /core/uri-version (see the module docstring)."""
    found = []
    if not KEBAB.match(path):
        found.append(f"{path} is not kebab-case")
    if len(path) > 1 and path.endswith("/"):
        found.append(f"{path} ends in a slash")
    if not path.startswith(("/api/v1/", *UNVERSIONED)):
        found.append(f"{path} has no major version")
    return found


def _operation(document: dict[str, Any], where: str, method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    found = [
        f"{where}: query key {p['name']} is not lower camelCase"
        for p in parameters
        if p["in"] == "query" and not CAMEL.match(p["name"])
    ]
    for status, response in operation["responses"].items():
        if status[0] in "23" and not any(h.lower() == "api-version" for h in response.get("headers", {})):
            found.append(f"{where} {status}: no API-Version header")  # /core/version-header
        if status[0] in "45":
            found += _problem(document, f"{where} {status}", response)
    # /core/error-handling/invalid-input: every write, and every read or delete with parameters, documents a 400
    if (method in ("post", "put", "patch") or parameters) and "400" not in operation["responses"]:
        found.append(f"{where}: no 400 documented")
    return found


def _problem(document: dict[str, Any], where: str, response: dict[str, Any]) -> list[str]:
    """/core/error-handling/problem-details: problem+json with status, title and detail."""
    content = response.get("content", {})
    if "application/problem+json" not in content:
        return [f"{where}: not application/problem+json"]
    schema = content["application/problem+json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    missing = PROBLEM_MEMBERS - set(schema.get("properties", {}))
    return [f"{where}: problem without {sorted(missing)}"] if missing else []
