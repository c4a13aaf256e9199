-- Job batches (issue 10, performance): under load the relay puts several events of one short job into one arq job
-- (workers/relay.py), which saves arq's per-job Redis round trips. Each event keeps its own ledger row; this says
-- which arq job carries the row at generation 0: the one named after `batch_lead` (the batch's smallest outbox id)
-- rather than after the row's own outbox id. NULL: a job of its own. Re-enqueues (generation > 0) are always alone.
ALTER TABLE event_jobs ADD COLUMN batch_lead bigint;
