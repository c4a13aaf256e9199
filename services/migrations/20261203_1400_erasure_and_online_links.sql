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

-- Per-organiser mail quotas: an organising body mails at most this many invitations in 24 hours (the default is
-- LEERKRING_MAIL_QUOTA_PER_DAY; an admin raises it per body). A batch is charged to the body whose key made it, by
-- its audience counted at request time until resolution gives the real number.
CREATE TABLE mail_quotas (
    organisation_code text PRIMARY KEY REFERENCES organisations,
    daily_limit       integer NOT NULL CHECK (daily_limit >= 0),
    set_by            uuid REFERENCES api_keys ON DELETE SET NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE invitation_batches
    ADD COLUMN quota_body    text,
    ADD COLUMN planned_count integer NOT NULL DEFAULT 0;
CREATE INDEX invitation_batches_quota ON invitation_batches (quota_body, created_at) WHERE quota_body IS NOT NULL;

-- Why an address is on the suppression list: erased (lifted when the person proves the address themselves again) or
-- unsubscribed through a mass invitation's List-Unsubscribe (lifted when they ask for invitations again).
ALTER TABLE suppressed_addresses
    ADD COLUMN reason text NOT NULL DEFAULT 'erased' CHECK (reason IN ('erased', 'unsubscribed'));

-- API keys: an optional expiry (an expired key answers like a revoked one) and when each was last used (to the
-- hour: services/auth/keys.py), so unused keys can be found and revoked.
ALTER TABLE api_keys
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz;

-- Webhook secrets rotate without a gap: the old secret keeps signing (beside the new one) until the grace period
-- ends, so a receiver can switch at its own moment within it.
ALTER TABLE webhook_subscriptions
    ADD COLUMN previous_secret       text,
    ADD COLUMN previous_secret_until timestamptz;
