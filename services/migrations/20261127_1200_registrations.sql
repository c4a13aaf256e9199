-- Participants, their personal tokens, registrations with a waiting list, idempotency keys and attendance.
--
-- Seat accounting lives on the meeting row: every change to a meeting's registrations first locks that row
-- (SELECT ... FOR UPDATE), so the counters below are exact, and the CHECK makes overbooking impossible even
-- for a buggy caller: a transaction that would hold more seats than the capacity fails instead of committing.

ALTER TABLE meetings
    ADD COLUMN waitlist_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN waitlist_mode    text    NOT NULL DEFAULT 'auto' CHECK (waitlist_mode IN ('auto', 'offer')),
    ADD COLUMN offer_hours      integer NOT NULL DEFAULT 48 CHECK (offer_hours BETWEEN 1 AND 720),
    ADD COLUMN confirmed_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN offered_count    integer NOT NULL DEFAULT 0,
    ADD COLUMN waitlisted_count integer NOT NULL DEFAULT 0,
    -- Last waiting-list position handed out; positions are never reused, so the queue order is the order of arrival.
    ADD COLUMN waitlist_seq     integer NOT NULL DEFAULT 0,
    ADD COLUMN checkin_code     text CHECK (checkin_code ~ '^[A-Z0-9]{6}$'),
    ADD CONSTRAINT meetings_never_overbooked CHECK (confirmed_count + offered_count <= capacity),
    ADD CONSTRAINT meetings_counts_sane CHECK (
        confirmed_count >= 0 AND offered_count >= 0 AND waitlisted_count >= 0 AND waitlist_seq >= waitlisted_count
    );

CREATE TABLE participants (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored lower-cased (the service normalises), so a plain unique index finds a person by address.
    email              text NOT NULL UNIQUE CHECK (email = lower(email)),
    name               text NOT NULL,
    organisation_code  text REFERENCES organisations,
    professional_group text REFERENCES professional_groups,
    locale             text NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    -- Throttles anonymous "send me my link" requests so nobody can flood a mailbox through us.
    link_requested_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    erased_at          timestamptz
);

-- Personal bearer tokens (manage links, calendar feeds): random, only a SHA-256 is kept, revocable.
CREATE TABLE participant_tokens (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    participant_id uuid NOT NULL REFERENCES participants ON DELETE CASCADE,
    purpose        text NOT NULL CHECK (purpose IN ('manage', 'feed')),
    token_hash     bytea NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz,
    last_used_at   timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX participant_tokens_owner ON participant_tokens (participant_id, purpose) WHERE revoked_at IS NULL;

CREATE TABLE registrations (
    id               uuid PRIMARY KEY,
    -- Assigned while the meeting row is locked, so per meeting it is the order in which seats were decided.
    n                bigint GENERATED ALWAYS AS IDENTITY,
    meeting_id       uuid NOT NULL REFERENCES meetings,
    participant_id   uuid NOT NULL REFERENCES participants,
    status           text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'offered', 'cancelled', 'declined')),
    position         integer CHECK (position > 0),
    rsvp             text NOT NULL DEFAULT 'accepted' CHECK (rsvp IN ('accepted', 'tentative', 'declined')),
    offer_expires_at timestamptz,
    source           text NOT NULL DEFAULT 'self' CHECK (source IN ('self', 'organiser')),
    created_by       uuid REFERENCES api_keys,
    end_reason       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    confirmed_at     timestamptz,
    cancelled_at     timestamptz,
    CHECK (status <> 'waitlisted' OR position IS NOT NULL),
    CHECK (status <> 'offered' OR offer_expires_at IS NOT NULL)
);
-- One active registration per person and meeting; a cancelled one may be followed by a new one.
CREATE UNIQUE INDEX registrations_one_active ON registrations (meeting_id, participant_id)
    WHERE status IN ('confirmed', 'waitlisted', 'offered');
-- A waiting-list position is handed out once per meeting: no duplicates, ever.
CREATE UNIQUE INDEX registrations_position ON registrations (meeting_id, position) WHERE position IS NOT NULL;
-- Deliberately few indexes: every one is written inside the hot meeting lock on each registration. The queue is
-- read through registrations_position, seat counts through registrations_one_active.
CREATE INDEX registrations_meeting_n ON registrations (meeting_id, n);
CREATE INDEX registrations_participant ON registrations (participant_id, n);
CREATE INDEX registrations_offers_due ON registrations (offer_expires_at) WHERE status = 'offered';

-- Idempotency-Key: the first request with a key stores its answer; a retry with the same body gets it back.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status_code  integer,  -- NULL only inside the transaction that claimed the key
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE attendance (
    meeting_id      uuid NOT NULL REFERENCES meetings,
    participant_id  uuid NOT NULL REFERENCES participants,
    registration_id uuid REFERENCES registrations,
    status          text NOT NULL CHECK (status IN ('attended', 'no_show')),
    walk_in         boolean NOT NULL DEFAULT false,
    method          text NOT NULL CHECK (method IN ('organiser', 'self')),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     uuid REFERENCES api_keys,
    PRIMARY KEY (meeting_id, participant_id)
);
CREATE INDEX attendance_participant ON attendance (participant_id);
