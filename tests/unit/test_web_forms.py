"""A posted form is checked field by field: every wrong field is named at once, nested groups by their path."""

from __future__ import annotations

import pytest

from schemas.meetings import MeetingIn
from services.errors import InvalidInput
from services.web import forms


def test_every_wrong_field_is_named_in_one_go() -> None:
    with pytest.raises(InvalidInput) as caught:
        forms.decode(
            {"title": "", "format": "borrel", "starts_at": "morgen", "capacity": 0, "audience": {"groups": ["Wmo!"]}},
            MeetingIn,
        )
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("title", "Dit veld mag niet leeg zijn"),
        ("format", "Onbekende waarde 'borrel'"),
        ("starts_at", "Geen geldige datum en tijd (RFC 3339, bijvoorbeeld 2027-03-01T09:30:00+01:00)"),
        ("ends_at", "Dit veld is verplicht"),
        ("capacity", "Moet minstens 1 zijn"),
        ("audience.groups[0]", "Heeft niet de juiste vorm"),
    ]
    assert caught.value.detail == "Dit veld mag niet leeg zijn", "the first one is the problem's detail"


def test_a_valid_form_decodes() -> None:
    body = {"title": "Intervisie", "format": "intervisie", "starts_at": "2027-03-02T13:30:00+01:00",
            "ends_at": "2027-03-02T16:00:00+01:00", "capacity": 12}  # fmt: skip
    assert forms.decode(body, MeetingIn).capacity == 12
