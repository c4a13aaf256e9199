"""Pasted e-mail addresses: parsed, validated and de-duplicated, with every refusal reported back.

An organiser pastes a column from a spreadsheet; silently dropping a typo would mean a colleague is never invited
and nobody notices. So each value is either accepted or returned with a Dutch reason.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from services.mail.headers import MAX_ADDRESS, AddressProblem, header_text, split_mailbox

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


_REASONS = {"control": REASON_CONTROL, "form": REASON_FORM, "length": REASON_LENGTH, "several": REASON_SEVERAL}


def parse_one(raw: str) -> Address | Rejected:
    """`a@b.nl` or `Naam <a@b.nl>` (the rules of services/mail/headers.py); anything else comes back as Rejected
    with the reason."""
    shown = header_text(raw, 300)  # what we echo back must itself be harmless
    try:
        name, addr = split_mailbox(raw.strip())  # a pasted cell often ends in a line break
    except AddressProblem as problem:
        return Rejected(value=shown, reason=_REASONS[problem.reason])
    return Address(email=addr.lower(), name=header_text(name, 200))


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
