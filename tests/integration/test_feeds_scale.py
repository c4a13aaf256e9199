"""At DESIGN scale (5,000 meetings a year, tests/design_scale.py) every kind of feed stays under the size that
Google Calendar still accepts, whole: nothing is left out and nothing is close enough to the limit to warn."""

from __future__ import annotations

import logging

import pytest

from services.db import Connection, create_pool
from services.feeds import windows
from services.settings import Settings
from tests.design_scale import seed, sizes


async def test_every_feed_kind_stays_under_the_limit_at_design_scale(
    settings: Settings, conn: Connection, caplog: pytest.LogCaptureFixture
):
    seeded = await seed(conn)
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    caplog.set_level(logging.WARNING, logger=windows.__name__)
    try:
        found = await sizes(pool, seeded)
    finally:
        await pool.close()
    report = {f.kind: (f.largest, f.bytes, f.meetings) for f in found}
    assert [f.kind for f in found] == ["public", "themes", "groups", "organisations", "bodies", "personal"]
    for f in found:
        assert f.bytes < windows.MAX_FEED_BYTES, report
        assert f.bytes < windows.WARN_BYTES, f"{f.kind} is past the warning level: {report}"
        assert f.meetings > 0, report
    assert not [r for r in caplog.records if r.name == windows.__name__], "no feed warned or was cut"
    # The windows hold what they promise: the public feed has its 5 weeks of 120 meetings.
    assert 550 < report["public"][2] < 650, report
