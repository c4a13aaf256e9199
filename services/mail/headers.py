"""The one address and header policy every mail goes through: what may stand in a header, what is an address.

Header values come from users (titles, names, notes). A CR or LF would let one add headers or a body of its own;
the other C0 and C1 controls and the Unicode line separators are taken for line ends by some parsers; bidi controls
can make a subject or a sender's name read differently from what it is ("Factuur‮fdp.exe"). So one character set,
UNSAFE, is replaced by a space in every header value (`header_text`), and an address holding any of it is refused.
Used by the MIME builders (message.py, services/invitations/mime.py), the composer and the address parser.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from email.headerregistry import Address

# C0 and C1 controls (NEL is U+0085), DEL, the line and paragraph separators, the bidi embeddings, overrides and
# isolates (U+202A-202E, U+2066-2069) and the bidi marks (LRM, RLM, ALM).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
MAX_LINE = 998  # RFC 5322: a header line, folded or not, stays below this
MAX_ADDRESS = 254

_NAME_ADDR = re.compile(r"^(?P<name>[^<>]*)<(?P<addr>[^<>]*)>\s*$")
# Local part: RFC 5322 atext plus letters beyond ASCII (SMTPUTF8); no quoted local parts, nobody uses those.
_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
_TLD = re.compile(r"^[^\W\d_]{2,63}$|^xn--[a-z0-9-]{1,59}$", re.IGNORECASE)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,60}$")
_LINK = re.compile(r"^(https://|mailto:)[^\s<>\x00-\x1f\x7f]+$")


def header_text(value: str, limit: int = MAX_LINE) -> str:
    """One safe header line: UNSAFE characters become spaces, whitespace collapses, NFC, at most `limit` long."""
    cleaned = " ".join(UNSAFE.sub(" ", unicodedata.normalize("NFC", value)).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def has_unsafe(value: str) -> bool:
    return UNSAFE.search(value) is not None


class AddressProblem(ValueError):
    """Not one address we send to; `reason` is which rule it breaks (form, length, several, control)."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"not a single e-mail address ({reason}): {value!r}")
        self.reason = reason


def address_problem(addr: str) -> str | None:
    """Why `addr` (a bare address) is not one we can send to: 'control', 'length', 'several', 'form'; or None."""
    if has_unsafe(addr):
        return "control"
    if len(addr) > MAX_ADDRESS:
        return "length"
    if any(sep in addr for sep in (",", ";", " ")) or addr.count("@") > 1:
        return "several" if addr.count("@") > 1 else "form"
    local, at, domain = addr.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL.match(local):
        return "form"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        return "form"
    return None


def split_mailbox(value: str) -> tuple[str, str]:
    """`a@b.nl` or `Naam <a@b.nl>` as (name, address), both stripped; raises AddressProblem for anything that is
    not one valid address, a line break around it included. The name is not cleaned here (see header_text)."""
    if has_unsafe(value):
        raise AddressProblem(value, "control")
    raw = value.strip()
    name, addr = "", raw
    named = _NAME_ADDR.match(raw)
    if named:
        name, addr = named["name"].strip().strip('"').strip(), named["addr"].strip()
    reason = address_problem(addr)
    if reason:
        raise AddressProblem(value, reason)
    return name, addr


def make_address(value: str | tuple[str, str]) -> Address:
    """`"a@b.nl"`, `"Naam <a@b.nl>"` or `("Naam", "a@b.nl")` as an Address with a safe display name; raises
    AddressProblem (a ValueError) for anything that is not exactly one address."""
    if isinstance(value, str):
        name, addr = split_mailbox(value)
    else:
        name, addr = value[0], value[1].strip()
        reason = address_problem(addr)
        if reason:
            raise AddressProblem(addr, reason)
    username, _, domain = addr.rpartition("@")
    return Address(display_name=header_text(name, 200), username=username, domain=domain)


def check_header_name(name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name {name!r}")
    return name


def check_link(url: str) -> str:
    """A link that may stand between angle brackets in a header (List-Unsubscribe): https:// or mailto:."""
    if not _LINK.match(url):
        raise ValueError(f"unsubscribe link must be https:// or mailto: without spaces: {url!r}")
    return url


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID of one delivery: derived from its unique key, so a retry sends the same id and
    receivers that de-duplicate on Message-ID show a rare double delivery once."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    clean = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "leerkring.local"
    return f"<{digest}@{clean}>"


def domain_of(sender: str | tuple[str, str]) -> str:
    return make_address(sender).domain
