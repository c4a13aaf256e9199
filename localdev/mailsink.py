"""A development SMTP sink: accepts every message, keeps it in memory and writes it to a folder as .eml.

`leerkring run` points LEERKRING_SMTP_URL at it when no relay is configured, and tests use the same class as an
in-process SMTP server (`wait_for` blocks until the expected number of messages arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One accepted message: the parsed MIME, the SMTP envelope and the .eml file it was written to."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]
    path: Path
    raw: bytes


class _Controller(Controller):
    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        # Bind here rather than inside create_server so that port 0 works: Controller afterwards connects to
        # self.port to trigger aiosmtpd's lazily built SMTP instance, so it must be the port the kernel chose.
        family = socket.AF_INET6 if ":" in self.hostname else socket.AF_INET
        sock = socket.create_server((self.hostname, self.port), family=family)
        self.port = sock.getsockname()[1]
        return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self._sink.refusing:
            # What a server going down says to a client already connected; a transaction under way is finished.
            return "421 4.3.2 Service not available, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        # The file write runs off the SMTP loop so a slow disk does not stall other connections.
        await asyncio.to_thread(self._sink._store, raw, envelope.mail_from or "", tuple(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """aiosmtpd server in a background thread that stores every message under `maildir` and in `messages`."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir = maildir
        self.host = host
        self.port = port
        self.messages: list[ReceivedMail] = []
        self._changed = threading.Condition()
        # Waiting coroutines, woken from the SMTP thread through their own loop (asyncio.Event is not thread-safe).
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._controller: _Controller | None = None
        self._url: str | None = None
        self.refusing = False

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("MailSink is not running")
        return self._url

    def start(self) -> str:
        """Start listening (a no-op when already running) and return `smtp://host:port`."""
        if self._url is not None:
            return self._url
        self.maildir.mkdir(parents=True, exist_ok=True)
        controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            # Raw bytes (decode_data=False) is what makes aiosmtpd advertise 8BITMIME; SMTPUTF8 allows
            # non-ASCII addresses. Both are what a real relay offers, so the mailer is exercised the same way.
            decode_data=False,
            enable_SMTPUTF8=True,
            server_hostname="mailsink.leerkring.local",
            ident="Leerkring mail sink",
        )
        controller.start()
        self._controller = controller
        self.port = controller.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"smtp://{host}:{self.port}"
        return self._url

    def stop(self) -> None:
        """Stop listening; safe to call more than once. Stored messages stay in `messages` and on disk."""
        controller, self._controller, self._url = self._controller, None, None
        if controller is not None:
            controller.stop()

    def refuse(self) -> None:
        """An outage, for tests: stop listening (new connections are refused) and answer 421 to the next MAIL FROM
        on connections already open. A transaction under way still ends with its 250, so every message either
        arrived and was acknowledged or was never taken. `resume` ends it, on the same port."""
        controller = self._controller
        if controller is None or self.refusing:
            return
        self.refusing = True
        server = controller.server
        if server is not None:
            controller.loop.call_soon_threadsafe(server.close)

    def resume(self) -> None:
        """Listen again on the same port after `refuse`."""
        controller = self._controller
        if controller is None or not self.refusing:
            return

        async def listen() -> None:
            controller.server = await controller._create_server()

        asyncio.run_coroutine_threadsafe(listen(), controller.loop).result(timeout=10)
        self.refusing = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float) -> list[ReceivedMail]:
        """Block until at least `count` messages arrived and return them all; raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"expected {count} message(s) within {timeout}s, got {len(self.messages)}")
            return list(self.messages)

    async def wait_for_async(self, count: int) -> list[ReceivedMail]:
        """`wait_for` for code whose sender runs on the same event loop; bound it with `asyncio.timeout()`."""
        loop = asyncio.get_running_loop()
        while True:
            arrived = asyncio.Event()
            with self._changed:
                if len(self.messages) >= count:
                    return list(self.messages)
                self._async_waiters.append((loop, arrived))
            try:
                await arrived.wait()
            finally:
                with self._changed:
                    self._async_waiters.remove((loop, arrived))

    def clear(self) -> None:
        """Forget the messages kept in memory (the .eml files stay)."""
        with self._changed:
            self.messages.clear()

    def _store(self, raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}.eml"
        # Write then rename within the same folder: whoever watches maildir for *.eml never sees half a message.
        # No fsync: a sink loses nothing of value in an OS crash.
        fd, tmp = tempfile.mkstemp(dir=self.maildir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            path = self.maildir / name
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._changed:
            self.messages.append(ReceivedMail(message, mail_from, rcpt_tos, path, raw))
            self._changed.notify_all()
            for loop, arrived in self._async_waiters:
                # A waiter whose loop has closed cannot be woken and must not fail the SMTP transaction.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(arrived.set)
