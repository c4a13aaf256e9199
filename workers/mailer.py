"""The one module that speaks SMTP: sending messages over pooled connections (building them is services/mail).

URLs: `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it; `?starttls=require` insists,
`?starttls=off` never), `smtps://…` (TLS from the first byte, port 465). Further query options:
`timeout=` seconds, `verify=0` to accept a self-signed certificate (never in production).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from workers.mailerrors import MessageRejected, RecipientRejected, ServerDown, Transient

CalendarMethod = Literal["REQUEST", "CANCEL", "PUBLISH"]
Recipient = str | tuple[str, str]

# A pooled connection idle for longer than this is probed (NOOP) before use; servers drop idle clients.
_PROBE_AFTER = 5.0
_MAX_IDLE = 50.0


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None  # None: upgrade when the server offers STARTTLS
    validate_certs: bool = True
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse smtp:// or smtps://; raises ValueError for another scheme or a missing host."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://host:port or smtps://user:pass@host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        use_tls = parts.scheme == "smtps"
        start_tls = {"require": True, "off": False}.get(query.get("starttls", ""))
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=False if use_tls else start_tls,
            validate_certs=query.get("verify", "1") not in ("0", "false", "no"),
            timeout=float(query.get("timeout", "30")),
        )


def _classify(exc: BaseException) -> Transient | RecipientRejected | MessageRejected:
    """Permanent only when this message or recipient is refused for good (5xx to RCPT or DATA). A 4xx for one
    recipient or message is Transient. Everything else says nothing about this message: the server is away
    (refused, dropped or timed-out connection, 421 "closing"), or refuses everyone (our login or sender): ServerDown,
    so every sender waits at the gate rather than spend mails on it, and once fixed the messages still go out."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return RecipientRejected(f"ontvanger geweigerd: {exc.recipients[0].message} ({codes[0]})")
        if 421 in codes:
            return ServerDown(f"SMTP 421 bij RCPT: {codes}")
        return Transient(f"ontvanger tijdelijk geweigerd: {codes}")
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPAuthenticationError):
        return ServerDown(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code != 421:
        if isinstance(exc, aiosmtplib.SMTPDataError) and 500 <= exc.code < 600:
            return MessageRejected(f"bericht geweigerd: SMTP {exc.code} {exc.message}")
        if 400 <= exc.code < 500:
            return Transient(f"tijdelijk geweigerd: SMTP {exc.code} {exc.message}")
    return ServerDown(f"{type(exc).__name__}: {exc}")


class _Pooled:
    __slots__ = ("client", "last_used")

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.last_used = time.monotonic()


CLOSED = "niet verstuurd: het werkproces stopt"


class Mailer:
    """SMTP over a small pool of reused connections: one TCP/TLS/AUTH setup serves many messages.

    `send` raises the types of workers/mailerrors.py: ServerDown, Transient (a 4xx for this message), or
    RecipientRejected / MessageRejected (a 5xx: give up on this message).
    """

    def __init__(self, url: str, *, pool_size: int = 8, local_hostname: str | None = None) -> None:
        self.config = SmtpConfig.from_url(url)
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_Pooled] = []
        self._closed = False

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.validate_certs:
            return None
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    async def _connect(self) -> _Pooled:
        cfg = self.config
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            use_tls=cfg.use_tls,
            start_tls=cfg.start_tls,
            validate_certs=cfg.validate_certs,
            tls_context=self._tls_context(),
            timeout=cfg.timeout,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        return _Pooled(client)

    async def _checkout(self) -> _Pooled:
        while self._idle:
            pooled = self._idle.pop()
            idle = time.monotonic() - pooled.last_used
            if idle > _MAX_IDLE or not pooled.client.is_connected:
                await self._discard(pooled)
                continue
            if idle > _PROBE_AFTER:
                try:
                    await pooled.client.noop()
                except aiosmtplib.SMTPException:
                    await self._discard(pooled)
                    continue
            return pooled
        return await self._connect()

    async def _discard(self, pooled: _Pooled) -> None:
        with contextlib.suppress(Exception):
            pooled.client.close()

    async def send(self, message: EmailMessage) -> None:
        """Send one message to the addresses in its To/Cc headers. Once `close` began, raises ServerDown before a
        byte goes out, also for a send that was waiting for a connection: a block of mails stops there and hands
        its rest back untried (workers/lifecycle.py closes the mailer first thing in a shutdown)."""
        if self._closed:
            raise ServerDown(CLOSED)
        async with self._slots:
            if self._closed:
                raise ServerDown(CLOSED)
            try:
                pooled = await self._checkout()
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise _classify(exc) from exc
            keep = False
            try:
                await pooled.client.send_message(message)
                keep = True
            except aiosmtplib.SMTPRecipientsRefused as exc:
                keep = True  # the conversation itself is fine; aiosmtplib sent RSET
                raise _classify(exc) from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise _classify(exc) from exc
            finally:
                if keep and not self._closed:
                    pooled.last_used = time.monotonic()
                    self._idle.append(pooled)
                else:
                    await self._discard(pooled)

    async def close(self) -> None:
        """Refuse new sends; the ones under way finish (and drop their connection); close the idle connections."""
        self._closed = True
        idle, self._idle = self._idle, []
        for pooled in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pooled.client.quit(), 2)
            await self._discard(pooled)


class FileMailer:
    """No SMTP configured: each message becomes an .eml file (the dev page at /dev/mail lists them)."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message.as_bytes())

    def _write(self, raw: bytes) -> None:
        self.maildir.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}.eml"
        # Write then rename, as the SMTP sink does: a reader never sees half a message.
        fd, tmp = tempfile.mkstemp(dir=self.maildir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, self.maildir / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def close(self) -> None:
        return None


def mailer_for(smtp_url: str | None, maildir: Path, *, pool_size: int = 8) -> MailTransport:
    """SMTP when a URL is configured, else .eml files in `maildir`."""
    if smtp_url:
        return Mailer(smtp_url, pool_size=pool_size)
    return FileMailer(maildir)
