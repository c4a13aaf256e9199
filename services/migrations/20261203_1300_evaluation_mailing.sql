-- Evaluation mails go out in lanes from one job per meeting (workers/jobs/evaluation_mailing.py), as invitations do:
-- the sweep marks the round each request is to be mailed, the job's senders take marked rows in blocks and claim
-- their deliveries. NULL: nothing to mail. The delivery key stays evaluation:{request}:{round}, so a mail sent by the
-- per-request job before this change is not sent again.
ALTER TABLE evaluation_requests ADD COLUMN mail_round integer;
CREATE INDEX evaluation_requests_to_mail ON evaluation_requests (meeting_id, id) WHERE mail_round IS NOT NULL;
