"""Logs: one JSON object a line, the request id carried from the request into its outbox events and the jobs that
handle them, and nothing personal (addresses, tokens, keys) in any line, walked as a participant and an organiser
use Leerkring: register through the page, the confirmation mail, its link, the next mail, the personal feed."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from localdev.mailsink import MailSink
from services.app import create_app
from services.db import Connection
from services.observe.logs import ContextFilter, JsonFormatter, scrub
from services.settings import Settings
from tests.api import published
from tests.csrf import like_a_browser
from tests.factories import participant_body
from tests.integration.invitation_helpers import mails
from tests.integration.test_invitations_resilience import PickyMailer
from tests.integration.test_participant_journey import link, text_of
from workers.testing import running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]
BASE = "https://leerkring.test"
# The test's own SMTP server (aiosmtpd) logs envelopes; production runs none (it is in localdev only).
TEST_ONLY_LOGGERS = ("mail.log",)
QUIET = ("httpx", "httpcore")


class Captured:
    """Every record at DEBUG and above, as the JSON handler writes it and as raw text (message, arguments, trace)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.records: list[logging.LogRecord] = []

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def raw(self) -> str:
        parts = []
        for record in self.records:
            if record.name.startswith(TEST_ONLY_LOGGERS):
                continue
            parts.append(record.getMessage())
            if record.exc_info:
                parts.append(logging.Formatter().formatException(record.exc_info))
        return "\n".join(parts)


@pytest.fixture
def captured() -> Iterator[Captured]:
    found = Captured()
    handler = logging.StreamHandler(found.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.records.append(record)

    keep = Keep()
    root = logging.getLogger()
    level = root.level
    # As every process sets them (services/commands/context.py): httpx logs each URL at INFO, and here that is the
    # test's own client opening the links from the mails.
    quiet = {name: logging.getLogger(name).level for name in QUIET}
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    root.addHandler(handler)
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        root.removeHandler(handler)
        root.removeHandler(keep)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


@pytest.fixture
async def browser(mail_settings: Settings) -> Any:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as client:
        yield like_a_browser(client, mail_settings.secret_key)


async def test_the_request_id_travels_into_the_event_and_its_job(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink,
    captured: Captured,
) -> None:  # fmt: skip
    meeting = await published(browser, vng)
    url = f"/api/v1/meetings/{meeting['id']}/registrations"
    async with running_workers(mail_settings):
        answer = await browser.post(
            url, json={"participant": participant_body(1)}, headers={**vng, "X-Request-ID": "proxy-trace-0001"}
        )
        assert answer.status_code == 201, answer.text
        assert answer.headers["x-request-id"] == "proxy-trace-0001"
        await mails(mail_sink, 1)
    event = await conn.fetchrow(
        "SELECT id, type, request_id FROM outbox WHERE aggregate_id = $1 AND type = 'registration.confirmed'",
        UUID(meeting["id"]),
    )
    assert event["request_id"] == "proxy-trace-0001"
    jobs = [line for line in captured.lines if line.get("request_id") == "proxy-trace-0001" and line.get("job")]
    assert jobs, "the job handling the event logs the request's id"
    assert all(line["job"].endswith(f":{event['id']}") for line in jobs if line["logger"] == "workers.ledger")
    assert {line["level"] for line in captured.lines} >= {"DEBUG", "INFO"}


async def test_an_unusable_request_id_is_replaced(browser: Client) -> None:
    for given in ("kort", "met spaties erin en veel te lang " * 3, "<script>alert(1)</script>"):
        answer = await browser.get("/healthz", headers={"X-Request-ID": given})
        assert answer.headers["x-request-id"] != given
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    unmatched = await browser.get("/bestaat-niet")
    assert unmatched.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", unmatched.headers["x-request-id"]), "router answers carry one too"


async def test_no_address_token_or_key_reaches_the_logs(
    browser: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink,
    captured: Captured,
) -> None:  # fmt: skip
    meeting = await published(browser, vng, capacity=5)
    person = {
        "email": "Anouk.deVries@gemeente.example.nl",
        "name": "Anouk de Vries",
        "organisation_code": "GM0363",
        "professional_group": "wmo-consulent",
        "invitation_consent": "ja",
    }
    secrets: set[str] = {person["email"], person["email"].lower(), vng["Authorization"].removeprefix("Bearer ")}
    refused, greylisted = "weg.iemand@gemeente.example.nl", "traag.iemand@gemeente.example.nl"
    secrets.update((refused, greylisted))
    # The mail server refuses one invitee for good (550) and greylists another (451, twice): the bounce and the
    # retries are logged, the addresses are not.
    async with running_workers(mail_settings, mailer=PickyMailer(mail_settings.smtp_url or "")):
        asked = await browser.post(f"/bijeenkomsten/{meeting['id']}/inschrijven", data=person)
        assert asked.status_code == 202, asked.text
        (request_mail,) = await mails(mail_sink, 1)
        confirm = link(request_mail, "/bevestigen/")
        done = await browser.post(confirm, data=person)
        assert done.status_code == 200, done.text
        confirmation = (await mails(mail_sink, 2))[1]
        feed_url = link(confirmation, "/feeds/p/")
        feed = await browser.get(feed_url)
        assert feed.status_code == 200
        again = await browser.get(feed_url, headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304
        # An organiser lists the registrations with the key, and asks for a stranger's link (same answer).
        listed = await browser.get(f"/api/v1/meetings/{meeting['id']}/registrations", headers=vng)
        assert listed.status_code == 200
        await browser.post("/inloggen", data={"email": "onbekend.persoon@gemeente.example.nl"})
        await browser.post("/inloggen", data={"email": person["email"]})
        await mails(mail_sink, 3)
        invited = await browser.post(
            f"/api/v1/meetings/{meeting['id']}/invitations", json={"emails": [refused, greylisted]}, headers=vng
        )
        assert invited.status_code == 202, invited.text
        await mails(mail_sink, 4)

        async def bounced() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM deliveries WHERE failure = 'bounced'"))

        await wait_until(bounced, within=20)
    secrets.add("onbekend.persoon@gemeente.example.nl")
    for mail in (request_mail, confirmation):
        secrets.update(re.findall(r"lk[pr]_[A-Za-z0-9_-]{10,}", text_of(mail)))
        # Signed links (confirmation, offers) carry their token as the last path segment.
        secrets.update(s for s in re.findall(r"/bevestigen/([^\s?\"<>]+)", text_of(mail)))
    assert len(secrets) >= 6, secrets
    json_lines = captured.stream.getvalue()
    raw = captured.raw()
    assert len(captured.records) > 20, "the walk logged something, at DEBUG too"
    for secret in secrets:
        assert secret not in json_lines, f"{secret!r} in the JSON log"
        assert secret not in raw, f"{secret!r} logged by our code or a library"


def test_the_formatter_masks_what_slipped_through() -> None:
    text = "mail to Jan.Jansen+x@gemeente.example.nl with lkp_abcdefghijkl and Bearer lkr_ab12_cdefghijklmnop"
    masked = scrub(text)
    assert "Jan.Jansen" not in masked
    assert "lkp_abcdefghijkl" not in masked
    assert "cdefghijklmnop" not in masked
    assert masked.count("[e-mailadres]") == 1
