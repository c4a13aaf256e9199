-- The mail pipeline (issue 10): one claim per mail, typed failures, transient failures that wait.
--
-- * An invitation row no longer has a claim of its own: the deliveries row behind its mail is the one claim
--   (senders lock invitation rows only for the statement that claims their deliveries, SKIP LOCKED).
-- * A transient failure for one recipient (a 4xx) hands the delivery back with a time before which nobody tries
--   again; it spends no attempt. Only a 5xx, a mail that cannot be built or the retry horizon end a delivery, and
--   `failure` says which, so nobody has to read the wording of `last_error`.
-- * A batch whose senders wait for the mail server says so in its progress.
ALTER TABLE deliveries
    ADD COLUMN not_before timestamptz,
    ADD COLUMN failure text CHECK (failure IN ('bounced', 'rejected', 'invalid', 'expired'));

ALTER TABLE invitations DROP COLUMN claimed_at, DROP COLUMN claimed_by;

ALTER TABLE invitation_batches ADD COLUMN mail_waiting_since timestamptz;
