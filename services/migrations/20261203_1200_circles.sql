-- Learning circles (issue 16): a round composes small recurring groups; each circle becomes a series of meetings.

CREATE TABLE circle_rounds (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organiser_code  text NOT NULL REFERENCES organisations,
    title           text NOT NULL,
    -- composing: a worker solves; proposed: the organiser reviews; publishing: a worker creates series and
    -- registrations; published: done; infeasible: a hard constraint cannot hold (explanation says which, by how
    -- much) and the circles are the best answer that comes nearest.
    state           text NOT NULL CHECK (state IN ('composing', 'proposed', 'publishing', 'published', 'infeasible')),
    -- The request as sent (sizes, sessions, goals, venue): what publishing and re-solving read.
    request         jsonb NOT NULL,
    -- Raised by every solve request; a solver job writes its answer only while it is still the latest.
    solve_seq       integer NOT NULL DEFAULT 1,
    solve_mode      text NOT NULL DEFAULT 'compose' CHECK (solve_mode IN ('compose', 'repair')),
    circle_count    integer,
    result          jsonb,  -- objective, bound, greedy objective, solver status, seconds
    explanation     text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX circle_rounds_organiser ON circle_rounds (organiser_code, created_at);

-- Who is in the round: read once when the round is asked for (a sign-up meeting's confirmed registrants or an
-- audience), plus anyone who joins later. The member id is what the organiser moves and pins: a participant id is
-- shown only to a body that knows the person (participants.queries.KNOWN_TO).
CREATE TABLE circle_members (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    round_id        uuid NOT NULL REFERENCES circle_rounds ON DELETE CASCADE,
    participant_id  uuid NOT NULL REFERENCES participants,
    circle          integer,          -- 0-based; NULL until composed (or a joiner not yet placed)
    pinned          boolean NOT NULL DEFAULT false,
    -- A repair's proposal: where the member would go (NULL: stays); applied by POST .../repair/apply.
    proposed_circle integer,
    experienced     boolean NOT NULL DEFAULT false,  -- attended three or more meetings when the round was asked
    joined_at       timestamptz NOT NULL DEFAULT now(),
    left_at         timestamptz,
    UNIQUE (round_id, participant_id)
);
CREATE INDEX circle_members_participant ON circle_members (participant_id);

-- Pairs who asked not to be in one circle (hard).
CREATE TABLE circle_apart (
    round_id        uuid NOT NULL REFERENCES circle_rounds ON DELETE CASCADE,
    a               uuid NOT NULL REFERENCES participants,
    b               uuid NOT NULL REFERENCES participants,
    PRIMARY KEY (round_id, a, b),
    CHECK (a < b)
);

-- What publishing made: one series per circle (its meetings carry series_id).
CREATE TABLE circle_series (
    round_id        uuid NOT NULL REFERENCES circle_rounds ON DELETE CASCADE,
    circle          integer NOT NULL,
    series_id       uuid NOT NULL UNIQUE REFERENCES series,
    PRIMARY KEY (round_id, circle)
);

-- Where a circle meets when it is not where the round says (a venue per group, or online): set during review.
CREATE TABLE circle_places (
    round_id        uuid NOT NULL REFERENCES circle_rounds ON DELETE CASCADE,
    circle          integer NOT NULL,
    venue           jsonb,   -- {"name", "address", "city"}; NULL: none
    online_url      text,
    PRIMARY KEY (round_id, circle)
);
