-- Organisers sign in by mail (services/auth/staff.py): a body registers its staff's addresses, each bound to the
-- API key that registered it, so a mailed sign-in link opens a page session acting as that key. Revoking the key
-- or removing the address ends those sessions.
CREATE TABLE staff_addresses (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key_id            uuid NOT NULL REFERENCES api_keys,
    email             text NOT NULL CHECK (email = lower(email)),
    added_at          timestamptz NOT NULL DEFAULT now(),
    -- The per-address throttle on sign-in mails, on top of the per-client rate limit.
    link_requested_at timestamptz,
    removed_at        timestamptz
);
CREATE UNIQUE INDEX staff_addresses_live ON staff_addresses (email, key_id) WHERE removed_at IS NULL;
CREATE INDEX staff_addresses_key ON staff_addresses (key_id);

-- A sign-in link's token, only its hash: single use (used_at), short-lived (expires_at).
CREATE TABLE staff_signin_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    staff_id   uuid NOT NULL REFERENCES staff_addresses,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX staff_signin_tokens_staff ON staff_signin_tokens (staff_id);
