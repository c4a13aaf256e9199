"""The List-Unsubscribe link carries, sealed, what it needs after its invitation row is gone: pure functions."""

from __future__ import annotations

from uuid import uuid4

from services import links_signing
from services.invitations import unsubscribe
from services.participants.suppression import address_hash

SECRET = "geheim"
EMAIL = "jan@gemeente.nl"


def token(url: str) -> tuple[int, str]:
    _, number, value = url.rsplit("/", 2)
    return int(number), value


def test_round_trip_and_nothing_readable() -> None:
    person = uuid4()
    number, value = token(unsubscribe.url("https://lk.test", SECRET, 7, EMAIL, person))
    assert number == 7
    assert "jan" not in value
    assert unsubscribe.verify(SECRET, 7, value) == unsubscribe.Target(
        address_hash=address_hash(SECRET, EMAIL), participant_id=person
    )
    _, pasted = token(unsubscribe.url("https://lk.test", SECRET, 8, EMAIL, None))
    assert unsubscribe.verify(SECRET, 8, pasted) == unsubscribe.Target(address_hash=address_hash(SECRET, EMAIL))
    assert value.split(".")[0] != pasted.split(".")[0], "two mails to one address share nothing in their links"


def test_another_row_secret_or_spelling_is_refused() -> None:
    _, value = token(unsubscribe.url("https://lk.test", SECRET, 7, EMAIL, None))
    assert unsubscribe.verify(SECRET, 8, value) is None
    assert unsubscribe.verify("ander geheim", 7, value) is None
    sealed, mac = value.split(".")
    other = {"A": "B"}
    assert unsubscribe.verify(SECRET, 7, f"{other.get(sealed[0], 'A')}{sealed[1:]}.{mac}") is None
    assert unsubscribe.verify(SECRET, 7, f"{sealed}.{mac[:-1]}{other.get(mac[-1], 'A')}") is None
    assert unsubscribe.verify(SECRET, 7, "ĳsbeer.€") is None
    assert unsubscribe.verify(SECRET, 7, ".") is None


def test_links_of_the_first_kind_still_verify() -> None:
    old = links_signing.sign(SECRET, "unsubscribe:7", kind="afmeld")
    assert unsubscribe.verify(SECRET, 7, old) == unsubscribe.Target()
    assert unsubscribe.verify(SECRET, 8, old) is None
