"""Embedded PostgreSQL and Redis and the SMTP sink, against the real binaries: no mocks, no conftest fixtures."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest
import redis.asyncio
from arq.connections import RedisSettings, create_pool
from arq.jobs import deserialize_job

from localdev.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedServerError, port_open
from localdev.embedded.postgres import DURABILITY
from localdev.mailsink import MailSink

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder for server data outside /tmp/pytest-of-root: as root, PostgreSQL runs as another OS user that
    must be able to walk to its data, and every pytest session that starts on this machine resets that folder to
    0700 (which broke initdb midway while other suites started beside this one)."""
    folder = REPO / "var" / f"test-embedded-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _proc_table() -> list[tuple[int, int, str]]:
    """(pid, ppid, command line) of every live process; zombies are left out, they hold nothing but a pid."""
    table = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state not in "ZX":
            table.append((int(entry.name), int(ppid), cmdline))
    return table


def postgres_processes(pgdata: Path) -> list[int]:
    """The postmaster for pgdata (its command line names the folder) and its children (which do not)."""
    table = _proc_table()
    postmasters = {pid for pid, _, cmd in table if "postgres" in cmd and f"-D {pgdata} " in cmd}
    return sorted(postmasters | {pid for pid, ppid, _ in table if ppid in postmasters})


def alive(pid: int) -> bool:
    return any(p == pid for p, _, _ in _proc_table())


async def test_postgres_connects_stops_cleanly_and_keeps_data(data_dir: Path) -> None:
    pg = EmbeddedPostgres(data_dir / "pg")
    dsn = await asyncio.to_thread(pg.start)
    assert postgres_processes(pg.pgdata)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "leerkring"
        # var/ outlives the process, so what `leerkring run` saved must survive a crash of the machine too.
        assert [await conn.fetchval(f"show {name}") for name in DURABILITY] == ["on", "on", "on"]
        await conn.execute("create table kept (note text)")
        await conn.execute("insert into kept values ('blijft bewaard')")
    finally:
        await conn.close()

    await asyncio.to_thread(pg.stop)
    assert postgres_processes(pg.pgdata) == []
    pg.stop()  # a second stop is a no-op

    again = EmbeddedPostgres(data_dir / "pg")
    dsn = await asyncio.to_thread(again.start)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("select note from kept") == "blijft bewaard"
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(again.stop)
    assert postgres_processes(again.pgdata) == []


async def test_throwaway_postgres_only_when_asked(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir / "pg", throwaway=True) as pg:
        conn = await asyncpg.connect(pg.dsn)
        try:
            assert [await conn.fetchval(f"show {name}") for name in DURABILITY] == ["off", "off", "off"]
        finally:
            await conn.close()


async def test_redis_takes_arq_jobs_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = await asyncio.to_thread(server.start)
    assert re.fullmatch(r"redis://127\.0\.0\.1:\d+/0", url)
    pool = await create_pool(RedisSettings.from_dsn(url))
    try:
        job = await pool.enqueue_job("send_invitation", "evt-1", _job_id="evt-1:send_invitation")
        assert job is not None
    finally:
        await pool.aclose()

    client = redis.asyncio.Redis.from_url(url)
    try:
        assert await client.zrange("arq:queue", 0, -1) == [b"evt-1:send_invitation"]
        stored = await client.get("arq:job:evt-1:send_invitation")
        assert stored is not None
        job_def = deserialize_job(stored)
        assert (job_def.function, job_def.args) == ("send_invitation", ("evt-1",))
    finally:
        await client.aclose()

    pid, port = server.pid, server.port
    assert pid is not None
    assert port is not None
    await asyncio.to_thread(server.stop)
    assert not alive(pid)
    assert not port_open("127.0.0.1", port)
    server.stop()

    # The queue is snapshotted on stop, so jobs enqueued before a restart are still there after it.
    with EmbeddedRedis(tmp_path / "redis") as again:
        client = redis.asyncio.Redis.from_url(again.url)
        try:
            assert await client.zrange("arq:queue", 0, -1) == [b"evt-1:send_invitation"]
        finally:
            await client.aclose()


def test_data_dir_has_one_owner(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis"), pytest.raises(EmbeddedServerError, match="in use by another process"):
        EmbeddedRedis(tmp_path / "redis").start()


_OWNER = """
import sys, threading, time
from pathlib import Path
from localdev.embedded import EmbeddedPostgres, EmbeddedRedis
base, how = Path(sys.argv[1]), sys.argv[2]
pg = EmbeddedPostgres(base / "pg", throwaway=True, die_with_owner=how != "orphan")
rd = EmbeddedRedis(base / "redis", die_with_owner=how != "orphan")
def start():
    pg.start()
    rd.start()
if how == "thread":  # off the main thread there is no PR_SET_PDEATHSIG: only the guardian process is left
    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
else:
    start()
print(rd.pid, flush=True)
time.sleep(600)  # until the test signals or kills this process
"""


def _start_owner(base: Path, how: str = "main") -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(base), how],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), proc.stderr.read() if proc.stderr else line
    return proc, int(line)


def wait_until_gone(pgdata: Path, redis_pid: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while postgres_processes(pgdata) or alive(redis_pid):
        assert time.monotonic() < deadline, f"still running after {within}s: {postgres_processes(pgdata)}"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_owner_killed_by_signal_leaves_no_servers(data_dir: Path, sig: signal.Signals) -> None:
    proc, redis_pid = _start_owner(data_dir)
    assert postgres_processes(data_dir / "pg" / "pgdata")
    assert alive(redis_pid)

    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == -sig  # it still dies "by the signal", as its parent expects
    assert postgres_processes(data_dir / "pg" / "pgdata") == []
    assert not alive(redis_pid)


@pytest.mark.parametrize("how", ["main", "thread"])
def test_servers_die_with_an_owner_killed_by_sigkill(data_dir: Path, how: str) -> None:
    """SIGKILL runs no cleanup in the owner; the kernel (PR_SET_PDEATHSIG, main thread only) and the guardian process
    (any thread) stop the servers instead, and the next owner starts on the same data directories."""
    proc, redis_pid = _start_owner(data_dir, how)
    assert postgres_processes(data_dir / "pg" / "pgdata")
    socket_dir = Path((data_dir / "pg" / "socket-dir").read_text().strip())
    proc.kill()
    proc.communicate(timeout=30)
    wait_until_gone(data_dir / "pg" / "pgdata", redis_pid)

    with EmbeddedPostgres(data_dir / "pg", throwaway=True) as pg, EmbeddedRedis(data_dir / "redis") as rd:
        assert not socket_dir.exists(), "the next owner cleans up the socket folder of the last"
        assert pg.pid is not None
        assert rd.pid is not None
        assert postgres_processes(pg.pgdata)[0] == pg.pid


def test_servers_orphaned_by_sigkill_are_stopped_by_the_next_owner(data_dir: Path) -> None:
    proc, redis_pid = _start_owner(data_dir, "orphan")
    proc.kill()
    proc.communicate(timeout=30)
    # Without a lifeline, SIGKILL leaves both servers running with nobody to stop them.
    assert postgres_processes(data_dir / "pg" / "pgdata")
    assert alive(redis_pid)

    with EmbeddedPostgres(data_dir / "pg") as pg, EmbeddedRedis(data_dir / "redis") as rd:
        assert not alive(redis_pid)
        assert rd.pid != redis_pid
        assert pg.pid is not None
        assert postgres_processes(pg.pgdata)[0] == pg.pid
    assert postgres_processes(data_dir / "pg" / "pgdata") == []
    assert not alive(redis_pid)


def _invitation() -> tuple[EmailMessage, str]:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//VNG//Leerkring//NL\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:meeting-42@leerkring.local\r\nSEQUENCE:0\r\nDTSTAMP:20261127T090000Z\r\n"
        "DTSTART:20261201T090000Z\r\nDTEND:20261201T110000Z\r\n"
        "SUMMARY:Intervisie – ‘de bedoeling’ in Súdwest-Fryslân\r\n"
        "ORGANIZER;CN=Leerkring:mailto:noreply@leerkring.local\r\n"
        "ATTENDEE;CN=Jöran;RSVP=TRUE:mailto:jöran@gemeente.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    msg = EmailMessage()
    msg["From"] = "Leerkring <noreply@leerkring.local>"
    msg["To"] = "Jöran de Vries <jöran@gemeente.example>"
    msg["Subject"] = "Uitnodiging: intervisie ‘de bedoeling’ – café Súdwest-Fryslân 🎓"
    msg.set_content("Beste Jöran,\n\nJe bent uitgenodigd voor de intervisie.\n", cte="8bit")
    msg.add_alternative("<p>Beste Jöran, je bent uitgenodigd.</p>", subtype="html", cte="8bit")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    return msg, ics


async def test_mailsink_stores_utf8_invitation_as_eml(tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail")
    url = sink.start()
    assert re.fullmatch(r"smtp://127\.0\.0\.1:\d+", url)
    assert sink.start() == url
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, start_tls=False) as smtp:
            await smtp.ehlo()
            assert smtp.supports_extension("8bitmime")
            assert smtp.supports_extension("smtputf8")
            sent, ics = _invitation()
            await smtp.send_message(sent)

        async with asyncio.timeout(10):
            (got,) = await sink.wait_for_async(1)
        assert (await asyncio.to_thread(sink.wait_for, 1, 1.0)) == [got]
        with pytest.raises(TimeoutError):
            sink.wait_for(2, 0.05)
    finally:
        sink.stop()
    sink.stop()
    assert not port_open("127.0.0.1", sink.port)

    assert got.mail_from == "noreply@leerkring.local"
    assert got.rcpt_tos == ("jöran@gemeente.example",)
    assert got.message["Subject"] == sent["Subject"]
    assert got.message["To"] == sent["To"]
    body = got.message.get_body(("plain",))
    assert body is not None
    assert "Beste Jöran" in body.get_content()
    assert "Beste Jöran".encode() in got.raw  # travelled as 8-bit UTF-8, not re-encoded to quoted-printable

    # Exactly one finished file, named timestamp + uuid, no temp file left behind, byte-identical to what came in.
    assert list((tmp_path / "mail").iterdir()) == [got.path]
    assert re.fullmatch(r"\d{8}T\d{12}Z-[0-9a-f]{32}\.eml", got.path.name)
    assert got.path.read_bytes() == got.raw
    parsed = email.message_from_bytes(got.path.read_bytes(), policy=email.policy.default)
    assert parsed.as_bytes() == got.message.as_bytes()
    assert parsed["Subject"] == sent["Subject"]

    calendars = [part for part in parsed.walk() if part.get_content_type() == "text/calendar"]
    assert len(calendars) == 1
    assert calendars[0].get_param("method") == "REQUEST"
    assert calendars[0].get_content().splitlines() == ics.splitlines()


def test_port_open(tmp_path: Path) -> None:
    with MailSink(tmp_path / "mail") as sink:
        assert port_open("127.0.0.1", sink.port)
    assert not port_open("127.0.0.1", sink.port)
