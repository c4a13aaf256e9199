-- The request that caused an event (its X-Request-ID, services/observe/context.py), so the jobs that handle the event
-- log the same id as the request did. NULL for events written outside a request or job (the command line, sweeps).
ALTER TABLE outbox ADD COLUMN request_id text;
