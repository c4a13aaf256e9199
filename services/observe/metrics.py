"""Every Prometheus metric Leerkring counts, for the API and worker processes alike (prometheus-client).

Why prometheus-client and not Litestar's Prometheus plugin: the worker processes count too (jobs, mails, the relay)
and they are no Litestar app, so the metric definitions have to live outside one; `leerkring api --workers N` needs
the client's multiprocess mode, which the plugin leaves to us anyway; and the route label must never be a raw path
(a personal feed path carries the participant's token), which our middleware guarantees by labelling unmatched
requests "unmatched" instead of falling back to the path.

What is counted here, in the process where it happens: requests, feed answers, registrations, jobs, mails, relayed
events. What is a state of the shared database or Redis (outbox lag, queue depth, scheduled work due or late) is
read at scrape time instead (services/observe/state.py), so it is right even when no process of ours is busy.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from services.errors import DomainError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Requests are mostly a few milliseconds; a report or a big feed may take seconds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "leerkring_http_requests", "HTTP requests answered, by route template", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "leerkring_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
FEED_REQUESTS = Counter(
    "leerkring_feed_requests",
    "Calendar feed answers by kind (public, themes, groups, organisations, personal) and status (200, 304, 404)",
    ["feed", "status"],
)
REGISTRATIONS = Counter(
    "leerkring_registrations",
    "Registration attempts by outcome (confirmed, waitlisted, requested, existing, refused) and refusal reason",
    ["outcome", "reason"],
)
JOBS = Counter(
    "leerkring_jobs",
    "Event jobs by outcome: done, retry, deferred (an outside service is away), dead (a dead letter), duplicate",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "leerkring_job_duration_seconds",
    "Time one run of an event job took, whatever its outcome",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
)
MAILS = Counter(
    "leerkring_mails",
    "Mail sends by outcome: sent, deferred (4xx, tried again later), bounced, rejected, invalid, expired, "
    "server_down (handed back untried while the mail server is away)",
    ["outcome"],
)
OUTBOX_PUBLISHED = Counter("leerkring_outbox_published_events", "Outbox events the relay turned into jobs")


def registry() -> CollectorRegistry:
    """What this process exposes: its own metrics, or those of all processes sharing PROMETHEUS_MULTIPROC_DIR
    (`leerkring api --workers N`, services/commands/serve.py)."""
    if os.environ.get(MULTIPROC_ENV):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    from prometheus_client import REGISTRY

    return REGISTRY


def exposition(*extra: CollectorRegistry) -> bytes:
    """The text format: this process's (or these processes') metrics, then `extra` (gauges read at scrape time)."""
    return b"".join([generate_latest(registry()), *(generate_latest(r) for r in extra)])


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=_HasStatus)
T = TypeVar("T")
P = ParamSpec("P")


def counts_registrations(fn: Callable[P, Awaitable[tuple[S, bool]]]) -> Callable[P, Awaitable[tuple[S, bool]]]:
    """For the functions that register (services/registrations): each answer counted by its status (confirmed,
    waitlisted) when new, "existing" when it was there already, "refused" with the problem's slug when a rule said no.
    Counted where it happens, so the API, the pages and the mailed links count alike."""

    @functools.wraps(fn)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> tuple[S, bool]:
        with counting_refusals():
            registration, new = await fn(*args, **kwargs)
        REGISTRATIONS.labels(registration.status if new else "existing", "").inc()
        return registration, new

    return counted


def counts_requests(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A registration asked for without proof of address (a confirmation mail goes out): "requested"."""

    @functools.wraps(fn)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> T:
        with counting_refusals():
            answer = await fn(*args, **kwargs)
        REGISTRATIONS.labels("requested", "").inc()
        return answer

    return counted


@contextmanager
def counting_refusals() -> Iterator[None]:
    """Count a registration refused by a rule (the meeting is full or closed, ...) under the problem's slug."""
    try:
        yield
    except DomainError as exc:
        REGISTRATIONS.labels("refused", exc.slug).inc()
        raise
