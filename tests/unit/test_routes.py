"""The worker refuses to start when an event type has no consumer: no routed job and no webhook-only mark."""

from __future__ import annotations

import pytest

from schemas.events import EVENT_TYPES
from workers import runner
from workers.jobs import load_all
from workers.routes import ROUTES, WEBHOOK_ONLY


def test_every_event_type_has_a_job_or_a_webhook_only_reason() -> None:
    runner.check_routes(load_all())  # what `leerkring worker` runs at start
    for event_type in EVENT_TYPES:
        assert ROUTES.get(event_type) or WEBHOOK_ONLY[event_type].strip()


def test_an_event_type_nobody_consumes_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "EVENT_TYPES", (*EVENT_TYPES, "meeting.archived"))
    with pytest.raises(RuntimeError, match=r"no job and no WEBHOOK_ONLY mark .*: meeting\.archived"):
        runner.check_routes(load_all())


def test_an_unrouted_event_type_without_its_mark_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(WEBHOOK_ONLY, "attendance.recorded")
    with pytest.raises(RuntimeError, match=r"attendance\.recorded"):
        runner.check_routes(load_all())


def test_a_mark_left_on_a_routed_event_type_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ROUTES, "evaluation.submitted", ("dispatch_webhooks",))
    with pytest.raises(RuntimeError, match=r"still marked WEBHOOK_ONLY.*evaluation\.submitted"):
        runner.check_routes(load_all())


def test_a_route_to_an_unknown_job_or_event_type_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ROUTES, "meeting.published", ("no_such_job",))
    with pytest.raises(RuntimeError, match=r"unknown job.*no_such_job"):
        runner.check_routes(load_all())
    monkeypatch.setitem(ROUTES, "meeting.published", ("sync_meeting_schedule",))
    monkeypatch.setitem(ROUTES, "meeting.publishd", ("sync_meeting_schedule",))
    with pytest.raises(RuntimeError, match=r"schemas/events.py does not have: meeting\.publishd"):
        runner.check_routes(load_all())
