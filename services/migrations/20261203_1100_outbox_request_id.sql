-- The request that caused an event (its X-Request-ID, services/observe/context.py), so the jobs that handle the event
-- log the same id as the request did. NULL for events written outside a request or job (the command line, sweeps).
-- With tracing on (LEERKRING_OTEL_ENDPOINT), the W3C traceparent of the span that wrote it: the job's span continues
-- that trace (services/observe/tracing.py).
ALTER TABLE outbox ADD COLUMN request_id text, ADD COLUMN trace_parent text;
