"""OpenTelemetry traces, switched on by LEERKRING_OTEL_ENDPOINT (an OTLP/HTTP collector, http://collector:4318).

One trace follows a change from the request through the outbox into the jobs it causes: the request's span context
is stored with each event it writes (`outbox.trace_parent`, W3C traceparent), and the job that handles the event
runs in a span whose parent that is (workers/ledger.py); events the job writes carry the job's span in turn. Time
between the two is the relay's and the queue's.

Why not Litestar's OpenTelemetry plugin: its span names and attributes are the raw path and the full URL with its
query (`GET /feeds/p/lkp_….ics`, `/mijn?token=…`), so every trace would carry participants' tokens. The server span
here is named after the matched route's template and records nothing of the path (services/observe/middleware.py).

Off (the default), every function here is a no-op that costs one attribute check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services import VERSION

_PROPAGATOR = TraceContextTextMapPropagator()


class _State:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None


_state = _State()


def configure(endpoint: str, service: str, *, exporter: SpanExporter | None = None) -> bool:
    """Trace this process when `endpoint` is set (or, in tests, into `exporter`); True when tracing is on.
    Once per process: a second call replaces the first (tests), flushing it."""
    if not endpoint and exporter is None:
        return False
    shutdown()
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": VERSION}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    # Not the global provider: a library's own instrumentation must not start exporting paths and URLs.
    _state.provider, _state.tracer = provider, provider.get_tracer("leerkring", VERSION)
    return True


def shutdown() -> None:
    """Flush and stop (process exit, or a test done with tracing)."""
    if _state.provider is not None:
        _state.provider.shutdown()
    _state.provider = _state.tracer = None


def stop_if(traced: bool) -> None:
    if traced:
        shutdown()


def enabled() -> bool:
    return _state.tracer is not None


def traceparent() -> str | None:
    """The current span's W3C traceparent, to store with an event; None when tracing is off."""
    if _state.tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def _parent(value: str | None) -> Context | None:
    return _PROPAGATOR.extract({"traceparent": value}) if value else None


@contextlib.contextmanager
def server_span(method: str, headers: Mapping[str, str]) -> Iterator[Span | None]:
    """The span of one HTTP request, child of the caller's `traceparent` header when it sends one."""
    if _state.tracer is None:
        yield None
        return
    with _state.tracer.start_as_current_span(
        method,
        context=_parent(headers.get("traceparent")),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method},
    ) as span:
        yield span


@contextlib.contextmanager
def job_span(job: str, outbox_id: int, parent: str | None) -> Iterator[None]:
    """The span of one job run, child of the span that wrote its event."""
    if _state.tracer is None:
        yield
        return
    attributes: dict[str, str | int] = {"leerkring.job": job, "leerkring.outbox_id": outbox_id}
    with _state.tracer.start_as_current_span(
        f"job {job}", context=_parent(parent), kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield
