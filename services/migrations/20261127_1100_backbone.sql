-- Event backbone: the job ledger behind the relay, worker liveness, exactly-once deliveries,
-- scheduled work, dead letters and webhooks. PostgreSQL is the source of truth for all of it;
-- Redis only carries the queue and may be flushed at any time.

-- Gap-free reading of the event log. `id` is taken at INSERT, not at COMMIT, so a reader paging by
-- `id` can skip a row whose transaction commits late. Ordering by the writing transaction's id and
-- serving only rows older than every transaction still running closes that gap
-- (services/events/queries.py).
ALTER TABLE outbox ADD COLUMN tx_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_log ON outbox (tx_id, id);
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- One row per running worker process. The process holds a session advisory lock on its id for as
-- long as it lives, so a crash (even SIGKILL) is visible at once in pg_locks.
CREATE TABLE worker_processes (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hostname   text NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    stopped_at timestamptz,
    crashed    boolean NOT NULL DEFAULT false
);
CREATE INDEX worker_processes_running ON worker_processes (id) WHERE stopped_at IS NULL;

-- The job ledger: one row per (event, routed job), written by the relay in the transaction that
-- marks the event published. A job is finished only when its row says so, which is what lets the
-- worker re-enqueue whatever Redis lost.
CREATE TABLE event_jobs (
    outbox_id   bigint NOT NULL REFERENCES outbox ON DELETE CASCADE,
    job         text NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dead')),
    -- Bumped on every re-enqueue after a crash or retry: part of the arq job id, so a fresh job is
    -- never mistaken for the old one still sitting in Redis.
    generation  integer NOT NULL DEFAULT 0,
    attempts    integer NOT NULL DEFAULT 0,
    -- Last time the job was enqueued or seen in Redis; '-infinity' asks for an immediate enqueue.
    checked_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    started_by  integer,
    finished_at timestamptz,
    last_error  text,
    PRIMARY KEY (outbox_id, job)
);
CREATE INDEX event_jobs_pending ON event_jobs (checked_at) WHERE status = 'pending';
CREATE INDEX event_jobs_started_by ON event_jobs (started_by) WHERE status = 'pending';

-- Exactly-once side effects: one row per thing that must happen once (an e-mail to one person about
-- one version of one meeting, ...), claimed with a conditional UPDATE before acting.
CREATE TABLE deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key            text NOT NULL UNIQUE,
    kind           text NOT NULL,
    meeting_id     uuid,
    participant_id uuid,
    recipient      text NOT NULL,
    sequence       integer NOT NULL DEFAULT 0,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'claimed', 'sent', 'failed')),
    claimed_at     timestamptz,
    claimed_by     integer,
    sent_at        timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    message_id     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_meeting ON deliveries (meeting_id, kind) WHERE meeting_id IS NOT NULL;
CREATE INDEX deliveries_claimed_by ON deliveries (claimed_by) WHERE status = 'claimed';

-- Scheduled work (meeting end, later reminders and evaluation requests). A task anchored to a
-- meeting time moves with the meeting: due_at = that time + anchor_offset.
CREATE TABLE scheduled_tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL,
    aggregate_id  uuid NOT NULL,
    dedupe_key    text NOT NULL DEFAULT '',
    due_at        timestamptz NOT NULL,
    anchor        text CHECK (anchor IN ('starts_at', 'ends_at')),
    anchor_offset interval NOT NULL DEFAULT '0',
    payload       jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    claimed_at    timestamptz,
    done_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, aggregate_id, dedupe_key)
);
CREATE INDEX scheduled_tasks_due ON scheduled_tasks (due_at) WHERE status = 'pending';
CREATE INDEX scheduled_tasks_aggregate ON scheduled_tasks (aggregate_id) WHERE status = 'pending';

-- Work that kept failing: never dropped, listed for people and re-run on request.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text NOT NULL,
    args        jsonb NOT NULL DEFAULT '{}',
    outbox_id   bigint,
    task_id     bigint REFERENCES scheduled_tasks ON DELETE CASCADE,
    error       text NOT NULL,
    attempts    integer NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text
);
CREATE INDEX dead_letters_open ON dead_letters (id) WHERE resolved_at IS NULL;
CREATE INDEX dead_letters_outbox ON dead_letters (outbox_id) WHERE resolved_at IS NULL;

CREATE TABLE webhook_subscriptions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url               text NOT NULL,
    -- Needed in plain form to sign every delivery; shown to the subscriber once, at creation.
    secret            text NOT NULL,
    event_types       text[] NOT NULL DEFAULT '{}',
    -- NULL: an administrator's subscription, which receives every event.
    organisation_code text REFERENCES organisations,
    description       text NOT NULL DEFAULT '',
    active            boolean NOT NULL DEFAULT true,
    disabled_at       timestamptz,
    disabled_reason   text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions (organisation_code) WHERE active;

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions ON DELETE CASCADE,
    outbox_id       bigint NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     bigint NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms     integer NOT NULL,
    status_code     integer,
    error           text,
    response_body   text
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, id);
