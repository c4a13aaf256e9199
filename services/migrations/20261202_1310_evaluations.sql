-- Evaluations after a meeting (issue 12): the request to each attendee and its nudges, a completion ledger,
-- and the answers, kept apart so that "anonymous but once" holds by construction.

-- NULL: the defaults (schemas/evaluations.py EvaluationSettings).
ALTER TABLE meetings ADD COLUMN evaluation jsonb;

-- A meeting's evaluation opens once (services/evaluations/service.py open_due): from then until closes_at the
-- form takes answers.
CREATE TABLE evaluations (
    meeting_id     uuid PRIMARY KEY REFERENCES meetings,
    questionnaire  text NOT NULL DEFAULT 'standaard',
    opened_at      timestamptz NOT NULL,
    closes_at      timestamptz NOT NULL
);

-- Who was asked and who has answered: the completion ledger. It says *that* someone answered, never when
-- (no time, not even the day), and nothing in it points at their answer. The id is the key in the form link.
CREATE TABLE evaluation_requests (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id     uuid NOT NULL REFERENCES evaluations,
    participant_id uuid NOT NULL REFERENCES participants,
    rounds_sent    integer NOT NULL DEFAULT 0,     -- the request, then the nudges
    next_at        timestamptz,                    -- when the next mail is due; NULL: none (answered, or all sent)
    answered       boolean NOT NULL DEFAULT false,
    UNIQUE (meeting_id, participant_id)
);
CREATE INDEX evaluation_requests_due ON evaluation_requests (next_at) WHERE NOT answered AND next_at IS NOT NULL;

-- The answers: a random id, the meeting, the answers. No person, no time, no sequence. The submitting
-- transaction also rewrites the meeting's other answers and answered ledger rows, so no system column (xmin)
-- ties one answer to one ledger row either (see services/evaluations/service.py submit).
CREATE TABLE evaluation_responses (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id     uuid NOT NULL REFERENCES evaluations,
    answers        jsonb NOT NULL
);
CREATE INDEX evaluation_responses_meeting ON evaluation_responses (meeting_id);
