"""The mailer against real SMTP servers (aiosmtpd in-process): pooling, STARTTLS, SMTPS, AUTH, refusals."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from localdev.mailsink import MailSink
from services.mail.message import build_message
from workers.mailer import Mailer
from workers.mailerrors import RecipientRejected, ServerDown, Transient


def message(to: str = "anne@gemeente.nl", subject: str = "Test") -> Any:
    return build_message(sender="Leerkring <noreply@leerkring.nl>", to=to, subject=subject, text="Hallo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Recorder:
    """aiosmtpd handler: keeps messages; refuses recipients whose local part names an SMTP code (e.g. 550@...)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope, address: str, options: Any) -> str:
        local = address.split("@")[0]
        if local.isdigit():
            return f"{local} nee"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        return "250 OK"


def authenticator(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"leerkring", b"geheim")
    # handled=False: aiosmtpd itself answers (535 on failure).
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_context(certificate: tuple[Path, Path]) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, int]]:
    handler, port = Recorder(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_connections_are_pooled_and_reused(mail_sink: MailSink):
    mailer = Mailer(mail_sink.url, pool_size=3)
    try:
        for i in range(5):
            await mailer.send(message(subject=f"Na elkaar {i}"))
        assert len(mailer._idle) == 1, "one connection served every message sent one after another"
        await asyncio.gather(*(mailer.send(message(subject=f"Tegelijk {i}")) for i in range(30)))
        assert len(mailer._idle) <= 3, "never more connections than the pool allows"
    finally:
        await mailer.close()
    assert len(mail_sink.messages) == 35


async def test_an_unreachable_server_is_down_not_a_verdict_on_the_mail():
    mailer = Mailer(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(ServerDown):
        await mailer.send(message())
    await mailer.close()


async def test_refusals_permanent_for_5xx_and_transient_for_4xx(recorder: tuple[Recorder, int]):
    handler, port = recorder
    mailer = Mailer(f"smtp://127.0.0.1:{port}")
    try:
        with pytest.raises(RecipientRejected, match="550"):
            await mailer.send(message(to="550@gemeente.nl"))
        with pytest.raises(Transient) as transient:
            await mailer.send(message(to="451@gemeente.nl"))
        assert not isinstance(transient.value, ServerDown), "a 4xx for one recipient says nothing of the server"
        await mailer.send(message())  # the connection survived both refusals
    finally:
        await mailer.close()
    assert len(handler.messages) == 1


async def test_starttls_with_login(certificate: tuple[Path, Path]):
    handler, port = Recorder(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        good = Mailer(f"smtp://leerkring:geheim@127.0.0.1:{port}?starttls=require&verify=0")
        await good.send(message())
        await good.close()
        bad = Mailer(f"smtp://leerkring:fout@127.0.0.1:{port}?starttls=require&verify=0")
        with pytest.raises(ServerDown, match="535"):
            await bad.send(message())  # our configuration is wrong: retry once it is fixed, do not give up
        await bad.close()
        unverified = Mailer(f"smtp://leerkring:geheim@127.0.0.1:{port}?starttls=require")
        with pytest.raises(Transient):
            await unverified.send(message())  # a self-signed certificate is refused unless verify=0
        await unverified.close()
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    assert b"Subject: Test" in handler.messages[0]


async def test_smtps_implicit_tls(certificate: tuple[Path, Path]):
    handler, port = Recorder(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=tls_context(certificate),
        authenticator=authenticator,
        auth_require_tls=False,  # the whole connection is TLS; aiosmtpd only recognises STARTTLS as such
    )
    controller.start()
    try:
        mailer = Mailer(f"smtps://leerkring:geheim@127.0.0.1:{port}?verify=0")
        await mailer.send(message())
        await mailer.close()
    finally:
        controller.stop()
    assert len(handler.messages) == 1
