-- Erasure is erasure (issue 11): the addresses of erased people, as a keyed hash only (services/participants/
-- suppression.py), so that a re-import by an organiser does not put them back into mass invitations.
CREATE TABLE suppressed_addresses (
    address_hash  bytea PRIMARY KEY CHECK (length(address_hash) = 32),
    suppressed_at timestamptz NOT NULL DEFAULT now()
);

-- A delivery the erasure stopped says so (it was queued, nobody may send it any more).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_failure_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_failure_check
    CHECK (failure IN ('bounced', 'rejected', 'invalid', 'expired', 'erased'));

-- The online link of a meeting is for confirmed participants (and staff): shared feeds leave it out, and a
-- confirmed seat's personal feed takes this variant (NULL when the meeting has no link, or is cancelled).
ALTER TABLE meeting_fragments ADD COLUMN vevent_confirmed bytea;
