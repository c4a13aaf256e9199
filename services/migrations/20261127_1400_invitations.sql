-- Invitations: batches of calendar mail (an organiser's invitations, and the updates and cancellations workers
-- send when a meeting moves or is cancelled), one row per invitee, answers, and saved audience lists.
--
-- participant_id carries no foreign key on purpose: an invitee row records a mail that went out (or did not),
-- also for pasted addresses that belong to no participant.

CREATE TABLE invitation_batches (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id     uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    -- 'invitation' is what an organiser sends; 'update' and 'cancellation' batches are made by workers, so that
    -- they get the same chunked, resumable fan-out and the same progress view.
    kind           text NOT NULL DEFAULT 'invitation' CHECK (kind IN ('invitation', 'update', 'cancellation')),
    -- {"direct": {groups, organisations, regions}, "lists": [...], "criteria": [{groups, organisations, regions}],
    --  "emails": [{"email", "name"}]}: criteria sets are OR-ed, each is groups AND (organisations OR regions)
    audience       jsonb NOT NULL DEFAULT '{}',
    resend         text NOT NULL DEFAULT 'none' CHECK (resend IN ('none', 'not_responded')),
    note           text NOT NULL DEFAULT '',
    -- update batches: the debounce baseline ({"field": {"seq", "old"}}) the "what changed" summary is made from
    changes        jsonb,
    reason         text NOT NULL DEFAULT '',
    -- update and cancellation batches: the meeting SEQUENCE they announce
    sequence       integer,
    created_by     uuid REFERENCES api_keys ON DELETE SET NULL,
    state          text NOT NULL DEFAULT 'requested'
                   CHECK (state IN ('requested', 'resolving', 'sending', 'done')),
    -- Resolution runs in short transactions; this says where the next one starts, so a restart resumes there.
    resolve_phase  text NOT NULL DEFAULT 'participants' CHECK (resolve_phase IN ('participants', 'emails', 'done')),
    resolve_after  text,
    resolved_count integer NOT NULL DEFAULT 0,
    skipped_count  integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    finished_at    timestamptz
);
CREATE INDEX invitation_batches_meeting ON invitation_batches (meeting_id, created_at);
-- A retried job (or an out-of-order event) can never make a second update or cancellation for the same version.
CREATE UNIQUE INDEX invitation_batches_one_per_version ON invitation_batches (meeting_id, kind, sequence)
    WHERE kind <> 'invitation';

CREATE TABLE invitations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id       uuid NOT NULL REFERENCES invitation_batches ON DELETE CASCADE,
    meeting_id     uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    email          text NOT NULL CHECK (email = lower(email)),
    name           text NOT NULL DEFAULT '',
    participant_id uuid,
    locale         text NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'bounced')),
    -- Work-queue claim: senders take small blocks with FOR UPDATE SKIP LOCKED, so any number of them share a
    -- batch. The exactly-once guarantee itself is the deliveries row each send goes through.
    claimed_at     timestamptz,
    claimed_by     integer,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    -- The meeting SEQUENCE this person's calendar received.
    sequence       integer,
    sent_at        timestamptz,
    UNIQUE (batch_id, email)
);
CREATE INDEX invitations_batch_queue ON invitations (batch_id, id) WHERE status = 'queued';
CREATE INDEX invitations_batch_status ON invitations (batch_id, status, id);
CREATE INDEX invitations_meeting_email ON invitations (meeting_id, email);

-- What a person answered (signed link or iTIP REPLY); one row per meeting and address.
CREATE TABLE invitation_responses (
    meeting_id   uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    email        text NOT NULL CHECK (email = lower(email)),
    response     text NOT NULL CHECK (response IN ('registered', 'declined', 'accepted', 'tentative')),
    source       text NOT NULL CHECK (source IN ('link', 'itip')),
    responded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, email)
);

-- A saved audience an organising body reuses ("alle Wmo-consulenten in Gelderland").
CREATE TABLE audience_lists (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_code text NOT NULL REFERENCES organisations,
    name              text NOT NULL,
    audience          jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organisation_code, name)
);

-- Updates and cancellations go to whoever last received a REQUEST for the meeting: the fan-out walks the sent
-- deliveries of one meeting in address order, a chunk at a time.
CREATE INDEX deliveries_meeting_recipient ON deliveries (meeting_id, recipient) WHERE status = 'sent';
