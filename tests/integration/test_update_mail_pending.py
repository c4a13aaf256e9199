"""A pending update mail is visible in the meeting's API answer until it has gone out (LEERKRING_UPDATE_MAIL_*)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from localdev.mailsink import MailSink
from services.db import Connection
from services.settings import Settings, load_settings
from tests.integration.invitation_helpers import (
    Client,
    add_participants,
    batch_done,
    invite,
    mails,
    published_meeting,
)
from tests.invitation_checks import parse_imip
from workers.jobs.invitations import UPDATE_TASK
from workers.testing import no_pending_jobs, running_workers, wait_until


def test_the_debounce_is_configured_in_seconds_with_defaults_of_one_and_ten_minutes():
    defaults = load_settings({}, dotenv=None)
    assert (defaults.update_mail_debounce, defaults.update_mail_max_delay) == (60, 600)
    set_ = load_settings(
        {"LEERKRING_UPDATE_MAIL_DEBOUNCE": "20", "LEERKRING_UPDATE_MAIL_MAX_DELAY": "120"}, dotenv=None
    )
    assert (set_.update_mail_debounce, set_.update_mail_max_delay) == (20, 120)
    with pytest.raises(msgspec.ValidationError, match="update_mail_debounce"):
        load_settings({"LEERKRING_UPDATE_MAIL_DEBOUNCE": "-5"}, dotenv=None)


async def test_the_meeting_says_when_its_update_mail_goes_out_until_it_has(
    client: Client, vng: dict[str, str], conn: Connection, mail_settings: Settings, mail_sink: MailSink
) -> None:
    # Ten minutes of debounce, capped at ten minutes after the first edit: the test moves the clock itself below.
    settings = msgspec.structs.replace(mail_settings, update_mail_debounce=600, update_mail_max_delay=600)
    meeting = await published_meeting(client, vng)
    url = f"/api/v1/meetings/{meeting['id']}"
    (person,) = await add_participants(conn, 1)
    assert (await client.get(url, headers=vng)).json()["pending_update"] is None
    start = datetime.fromisoformat(meeting["starts_at"])
    async with running_workers(settings) as workers:
        body = await invite(client, vng, meeting["id"], groups=["wmo-consulent"])
        (invitation,) = await mails(mail_sink, 1)
        await wait_until(lambda: batch_done(conn, body["batch"]["id"]))

        edited_at = datetime.now(UTC)
        moved = {
            "starts_at": (start + timedelta(hours=1)).isoformat(),
            "ends_at": (start + timedelta(hours=4)).isoformat(),
        }
        assert (await client.patch(url, json=moved, headers=vng)).status_code == 200
        # The test client runs the app on its own thread and waits for it, so no request goes out while a worker
        # job (on this loop) is half-way: the job might hold a lock the request needs.
        pool = workers[0].ctx["pool"]
        await wait_until(lambda: no_pending_jobs(pool), within=20)
        pending = (await client.get(url, headers=vng)).json()["pending_update"]
        assert pending is not None, "the worker has timed the update mail"
        send_at = datetime.fromisoformat(pending["send_at"])
        assert edited_at + timedelta(seconds=600) <= send_at <= datetime.now(UTC) + timedelta(seconds=600)
        # The minute shown is the due time rounded up (adding 59 s missed a due time a fraction past a whole minute).
        past_the_minute = send_at - send_at.replace(second=0, microsecond=0)
        rounded_up = send_at + (timedelta(minutes=1) - past_the_minute) % timedelta(minutes=1)
        shown = rounded_up.astimezone(ZoneInfo("Europe/Amsterdam"))
        assert pending["message"] == f"Bijwerking wordt verstuurd om {shown:%H:%M}"

        # A second edit within the window: still one mail, and never later than 10 minutes after the first edit.
        venue = {"venue": {"name": "Provinciehuis", "address": "Zuid-Hollandplein 1", "city": "Den Haag"}}
        again = await client.patch(url, json=venue, headers=vng)
        assert again.status_code == 200
        await wait_until(lambda: no_pending_jobs(pool), within=20)
        assert (await client.get(url, headers=vng)).json()["pending_update"] == pending, "capped at the first edit"
        assert len(mail_sink.messages) == 1, "nothing sent while edits may still come"

        # Ten minutes pass: the update goes out, and the meeting no longer announces it.
        await conn.execute("UPDATE scheduled_tasks SET due_at = now() WHERE kind = $1", UPDATE_TASK)
        update = (await mails(mail_sink, 2))[1]
        await wait_until(lambda: no_pending_jobs(pool), within=20)
        assert (await client.get(url, headers=vng)).json()["pending_update"] is None, "sent: nothing pending"
    assert list(update.rcpt_tos) == [person] == list(invitation.rcpt_tos)
    parsed = parse_imip(update.raw, method="REQUEST", to=person)
    assert parsed.sequence == 2, "both edits in the one update"
    assert "Provinciehuis" in parsed.text
