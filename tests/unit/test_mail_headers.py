"""One header and address policy for every mail: the builders, the composer and the address parser agree."""

from __future__ import annotations

import pytest

from services.invitations.addresses import REASON_CONTROL, Rejected, parse_one
from services.invitations.compose import header_text as subject_text
from services.mail.headers import UNSAFE, address_problem, header_text, make_address
from services.mail.message import build_message

TRICKS = ["\r\n", "\x00", "\x85", "\u2028", "\u202e", "\u2066", "\u200f", "\x9b"]


@pytest.mark.parametrize("trick", TRICKS)
def test_every_builder_takes_out_the_same_characters(trick: str) -> None:
    title = f"Factuur{trick}Bcc: x@y.nl"
    assert header_text(title) == subject_text(title) == "Factuur Bcc: x@y.nl"
    message = build_message(sender="a@b.nl", to=(f"Jan{trick}", "jan@b.nl"), subject=title, text="x")
    assert not UNSAFE.search(str(message["Subject"]))
    assert not UNSAFE.search(message["To"].addresses[0].display_name)


@pytest.mark.parametrize("trick", TRICKS)
def test_an_address_holding_one_is_refused_everywhere(trick: str) -> None:
    address = f"jan{trick}@b.nl"
    assert address_problem(address) == "control"
    with pytest.raises(ValueError, match="address"):
        make_address(address)
    parsed = parse_one(address)
    assert isinstance(parsed, Rejected)
    assert parsed.reason == REASON_CONTROL
