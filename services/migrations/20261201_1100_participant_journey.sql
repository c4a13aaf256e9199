-- The participant's journey: proof of address, consent to invitations by criteria, sign-in links and
-- registrations that wait for the address to be confirmed (double opt-in).
--
-- An address counts (a seat, an audience) only once it is proven: by a mailed confirmation or sign-in link, an
-- invitation link, a personal link, or staff vouching for it. Rows from before this migration carry no proof.

ALTER TABLE participants
    ADD COLUMN verified_at        timestamptz,
    -- "Send me invitations for meetings that match my profile": asked, never assumed.
    ADD COLUMN invitation_consent boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_changed_at timestamptz,
    -- The personal feed link is derived from the secret key and this number, so every mail can carry it without
    -- storing it in plain text; rotating the link bumps the number.
    ADD COLUMN feed_generation    integer NOT NULL DEFAULT 0;

-- Audiences select by criteria among proven, consenting people only.
CREATE INDEX participants_audience ON participants (professional_group, organisation_code)
    WHERE verified_at IS NOT NULL AND invitation_consent AND erased_at IS NULL;

ALTER TABLE participant_tokens DROP CONSTRAINT participant_tokens_purpose_check;
ALTER TABLE participant_tokens ADD CONSTRAINT participant_tokens_purpose_check
    CHECK (purpose IN ('manage', 'feed', 'signin'));
CREATE INDEX participant_tokens_expiry ON participant_tokens (expires_at) WHERE revoked_at IS NULL;

-- A registration asked for without proof of address: it holds no seat until the mailed link is confirmed, and
-- lapses at `expires_at`. The details are what the requester said about themselves; they are applied to the
-- participant only when the confirmation shows the address belongs to whoever sent them.
CREATE TABLE registration_requests (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    meeting_id      uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    participant_id  uuid NOT NULL REFERENCES participants ON DELETE CASCADE,
    details         jsonb NOT NULL DEFAULT '{}',
    -- SHA-256 of the confirmation link's token, which is derived from the secret key and this row's id (so the
    -- mail job can put it in the mail without it ever being stored).
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- The last time a confirmation mail was asked for: repeated requests within minutes send nothing new.
    mailed_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    registration_id uuid REFERENCES registrations
);
-- One open request per person and meeting: asking again re-sends the link of that request.
CREATE UNIQUE INDEX registration_requests_open ON registration_requests (meeting_id, participant_id)
    WHERE confirmed_at IS NULL;
CREATE INDEX registration_requests_expiry ON registration_requests (expires_at) WHERE confirmed_at IS NULL;
CREATE INDEX registration_requests_participant ON registration_requests (participant_id);
