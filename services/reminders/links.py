"""The signed links a reminder carries: "ik kan toch niet", "ja, ik kom" (the "Kom je nog?" variant) and the two
opt-outs.

As with seat offers (services/registrations/offers.py), an HMAC over (purpose, registration id) needs no storage:
"ik kan toch niet" is honoured only while the registration is active, and a registration ends once, so the link
cannot be replayed into anything else; the opt-outs are switches, harmless to press twice. The pages behind them
(services/web/reminders.py) show a button on GET (mail scanners open links) and act on POST, with no sign-in.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from services import links_signing

Purpose = Literal["cant_come", "still_coming", "off_meeting", "off_all"]
CANT_COME_PATH = "/ik-kan-niet"
STILL_COMING_PATH = "/ik-kom"
OFF_PATH = "/herinneringen-uit"
# The opt-out page's path segment per scope, and back.
SCOPES: dict[str, Purpose] = {"deze": "off_meeting", "alle": "off_all"}


def token(secret: str, purpose: Purpose, registration_id: UUID) -> str:
    return links_signing.sign(secret, f"reminder:{purpose}:{registration_id}", kind="reminder")


def verify(secret: str, purpose: Purpose, registration_id: UUID, value: str) -> bool:
    return links_signing.valid(secret, f"reminder:{purpose}:{registration_id}", value)


def cant_come_url(base_url: str, secret: str, registration_id: UUID) -> str:
    return f"{base_url.rstrip('/')}{CANT_COME_PATH}/{registration_id}/{token(secret, 'cant_come', registration_id)}"


def still_coming_url(base_url: str, secret: str, registration_id: UUID) -> str:
    value = token(secret, "still_coming", registration_id)
    return f"{base_url.rstrip('/')}{STILL_COMING_PATH}/{registration_id}/{value}"


def off_url(base_url: str, secret: str, registration_id: UUID, scope: Literal["deze", "alle"]) -> str:
    value = token(secret, SCOPES[scope], registration_id)
    return f"{base_url.rstrip('/')}{OFF_PATH}/{registration_id}/{scope}/{value}"
