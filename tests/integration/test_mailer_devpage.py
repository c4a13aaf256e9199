"""Without SMTP the worker writes .eml files to var/mail, and /dev/mail shows them (never in production)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.db import Connection
from services.mail.message import build_message
from services.settings import Settings
from workers.context import load_event, settings_of
from workers.deliveries import Mail, send_once
from workers.mailer import FileMailer
from workers.registry import job
from workers.routes import ROUTES
from workers.testing import emit_published, no_pending_jobs, running_workers, wait_until

Client = AsyncTestClient  # type: ignore[type-arg]


@job(name="devpage_test_mail")
async def devpage_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    event = await load_event(ctx, outbox_id)
    sender = settings_of(ctx).mail_from

    def build(message_id: str) -> EmailMessage:
        return build_message(
            sender=sender,
            to=("Anne <script>", "anne@gemeente.nl"),
            subject=f"Uitnodiging {outbox_id} <b>vet</b>",
            text="Beste Anne, u bent uitgenodigd.",
            html="<p>Beste Anne</p><script>alert(1)</script>",
            message_id=message_id,
        )

    await send_once(ctx, Mail(key=f"devpage:{event.id}", kind="test", recipient="anne@gemeente.nl", build=build))


async def test_the_worker_writes_eml_files_and_the_page_lists_them(
    conn: Connection, worker_settings: Settings, client: Client, monkeypatch: pytest.MonkeyPatch
):
    assert worker_settings.smtp_url is None
    monkeypatch.setitem(ROUTES, "meeting.published", ("devpage_test_mail",))
    async with running_workers(worker_settings):
        first, second = await emit_published(conn, 2)
        await wait_until(lambda: no_pending_jobs(conn))
    # The API process shares var/ with the worker (same settings.var_dir in `leerkring run`).
    page = await client.get("/dev/mail")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "2 berichten" in html
    assert "&lt;b&gt;vet&lt;/b&gt;" in html, "subjects are escaped"
    assert "<script>" not in html
    names = re.findall(r'href="/dev/mail/([^"/]+\.eml)/text"', html)
    assert len(names) == 2
    subjects = re.findall(r"Uitnodiging (\d+)", html)
    assert sorted(int(s) for s in subjects) == [first, second]

    raw = await client.get(f"/dev/mail/{names[0]}")
    assert raw.status_code == 200
    assert "Message-ID:" in raw.text
    text = await client.get(f"/dev/mail/{names[0]}/text")
    assert text.text.strip() == "Beste Anne, u bent uitgenodigd."
    rendered = await client.get(f"/dev/mail/{names[0]}/html")
    assert "sandbox" in rendered.headers["content-security-policy"]
    assert "<p>Beste Anne</p>" in rendered.text


async def test_the_page_refuses_paths_outside_the_mail_folder(client: Client, settings: Settings):
    (settings.var_dir / "secret_key").write_text("geheim")
    await FileMailer(settings.var_dir / "mail").send(build_message(sender="a@b.nl", to="c@d.nl", subject="x", text="y"))
    for path in ("/dev/mail/..%2Fsecret_key", "/dev/mail/secret_key", "/dev/mail/.hidden.eml", "/dev/mail/x.eml"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "geheim" not in response.text


async def test_an_empty_mail_folder(client: Client):
    page = await client.get("/dev/mail")
    assert page.status_code == 200
    assert "Nog geen berichten" in page.text


async def test_no_dev_mail_page_in_production(settings: Settings):
    production = msgspec.structs.replace(settings, environment="production")
    async with AsyncTestClient(app=create_app(production)) as client:
        assert (await client.get("/dev/mail")).status_code == 404


async def test_the_calendar_part_reads_in_local_time(client: Client, settings: Settings):
    message = EmailMessage()
    message["To"], message["Subject"] = "anne@gemeente.nl", "Uitnodiging met agenda"
    message.set_content("Zie de agenda-uitnodiging.")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        "UID:m1@leerkring\r\nSEQUENCE:2\r\nDTSTAMP:20270301T120000Z\r\nDTSTART:20270302T123000Z\r\n"
        "DTEND:20270302T150000Z\r\nSUMMARY:Intervisie Wmo\r\nLOCATION:Stadhuis\\, Den Haag\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:anne@gemeente.nl\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    folder = settings.var_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "met-agenda.eml").write_bytes(message.as_bytes())
    page = await client.get("/dev/mail")
    assert 'href="/dev/mail/met-agenda.eml/agenda"' in page.text
    assert "UTC" not in page.text, "received times in Dutch local time"
    readable = (await client.get("/dev/mail/met-agenda.eml/agenda")).text
    assert "METHOD: REQUEST" in readable
    assert "dinsdag 2 maart 2027, 13:30–16:00 (Nederlandse tijd)" in readable
    assert "Stadhuis, Den Haag" in readable
    assert "SEQUENCE: 2" in readable
    assert "mailto:anne@gemeente.nl (NEEDS-ACTION)" in readable
    assert (await client.get("/dev/mail/met-agenda.eml/agenda")).status_code == 200
