"""Pasted e-mail addresses: parsed, validated and de-duplicated, with every refusal reported back.

An organiser pastes a column from a spreadsheet; silently dropping a typo would mean a colleague is never invited
and nobody notices. So each value is either accepted or returned with a Dutch reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from services.invitations.compose import header_text

MAX_ADDRESS = 254
# Anything a header parser could treat as a line end or that has no business in an address.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = re.compile(r"^(?P<name>[^<>]*)<(?P<addr>[^<>]*)>$")
# Local part: RFC 5322 atext plus letters beyond ASCII (SMTPUTF8); no quoted local parts, nobody pastes those.
_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
_TLD = re.compile(r"^[^\W\d_]{2,63}$|^xn--[a-z0-9-]{1,59}$", re.IGNORECASE)

REASON_CONTROL = "Bevat een regeleinde of stuurteken"
REASON_FORM = "Geen geldig e-mailadres"
REASON_LENGTH = f"Langer dan {MAX_ADDRESS} tekens"
REASON_SEVERAL = "Meer dan één adres in één regel; zet elk adres op een eigen regel"


class Address(msgspec.Struct, frozen=True, kw_only=True):
    email: str  # lower-cased, the form participants are stored in
    name: str = ""


class Rejected(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    reason: str


class ParsedAddresses(msgspec.Struct, frozen=True, kw_only=True):
    accepted: list[Address]
    rejected: list[Rejected]
    duplicates: list[str]


def _valid_address(addr: str) -> str | None:
    """The reason `addr` is not an address we can send to, or None when it is."""
    if len(addr) > MAX_ADDRESS:
        return REASON_LENGTH
    local, at, domain = addr.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL.match(local):
        return REASON_FORM
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        return REASON_FORM
    return None


def parse_one(raw: str) -> Address | Rejected:
    """`a@b.nl` or `Naam <a@b.nl>`; anything else comes back as Rejected with the reason."""
    shown = header_text(raw, 300)  # what we echo back must itself be harmless
    if _CONTROL.search(raw.strip()):
        return Rejected(value=shown, reason=REASON_CONTROL)
    value = raw.strip()
    name = ""
    named = _NAMED.match(value)
    if named:
        name = named["name"].strip().strip('"').strip()
        value = named["addr"].strip()
    if any(sep in value for sep in (",", ";", " ")) or value.count("@") > 1:
        return Rejected(value=shown, reason=REASON_SEVERAL if value.count("@") > 1 else REASON_FORM)
    reason = _valid_address(value)
    if reason:
        return Rejected(value=shown, reason=reason)
    return Address(email=value.lower(), name=header_text(name, 200))


def parse_addresses(values: Iterable[str]) -> ParsedAddresses:
    """Parse every value; blank ones are skipped, repeats are listed once under `duplicates`."""
    accepted: list[Address] = []
    rejected: list[Rejected] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for raw in values:
        if not raw.strip():
            continue
        parsed = parse_one(raw)
        if isinstance(parsed, Rejected):
            rejected.append(parsed)
        elif parsed.email in seen:
            duplicates.append(parsed.email)
        else:
            seen.add(parsed.email)
            accepted.append(parsed)
    return ParsedAddresses(accepted=accepted, rejected=rejected, duplicates=duplicates)
