-- The audit log: who (an API key and its role, a participant, or the system) did what to which meeting,
-- registration, key or export. Ids, statuses and numbers only: never a secret, a token, an address or free text.
--
-- Every state change already writes its event to the outbox in its own transaction, so a trigger there records
-- it, together with the actor the request named for its transaction (services/audit: `leerkring.actor`, set
-- where a key or a personal token is checked). Things that emit no event (keys, exports, report
-- subscriptions) are recorded by their service.
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_role     text NOT NULL CHECK (actor_role IN ('admin', 'organiser', 'funder', 'participant', 'system')),
    key_id         uuid,  -- the API key's id (never the key)
    actor_participant_id uuid,
    action         text NOT NULL,
    object_type    text NOT NULL,
    object_id      text,
    meeting_id     uuid,
    participant_id uuid,  -- whose registration or data it concerns
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_object ON audit_log (object_id, id);
CREATE INDEX audit_log_meeting ON audit_log (meeting_id, id) WHERE meeting_id IS NOT NULL;
CREATE INDEX audit_log_key ON audit_log (key_id, id) WHERE key_id IS NOT NULL;

-- 'key:<uuid>:<role>', 'participant:<uuid>' or unset (a worker, the command line): the system.
CREATE FUNCTION audit_actor(OUT role text, OUT key_id uuid, OUT participant_id uuid) LANGUAGE plpgsql STABLE AS $$
DECLARE
    actor text := coalesce(current_setting('leerkring.actor', true), '');
BEGIN
    IF actor LIKE 'key:%' THEN
        role := split_part(actor, ':', 3);
        key_id := split_part(actor, ':', 2)::uuid;
    ELSIF actor LIKE 'participant:%' THEN
        role := 'participant';
        participant_id := split_part(actor, ':', 2)::uuid;
    ELSE
        role := 'system';
    END IF;
END
$$;

CREATE FUNCTION audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who record := audit_actor();
    p jsonb := NEW.payload;
BEGIN
    INSERT INTO audit_log (actor_role, key_id, actor_participant_id, action, object_type, object_id, meeting_id,
                           participant_id, detail)
    VALUES (
        who.role, who.key_id, who.participant_id, NEW.type, split_part(NEW.type, '.', 1),
        coalesce(p ->> 'registration_id', p ->> 'request_id', p ->> 'batch_id', p ->> 'subscription_id',
                 CASE WHEN NEW.type LIKE 'participant.%' THEN p ->> 'participant_id' END,
                 p ->> 'meeting_id', NEW.aggregate_id::text),
        (p ->> 'meeting_id')::uuid,
        (p ->> 'participant_id')::uuid,
        -- a whitelist: statuses, positions, numbers and the names (not the values) of changed fields; a
        -- cancellation's reason, a title or an address never lands here
        jsonb_strip_nulls(jsonb_build_object(
            'previous_status', p -> 'previous_status', 'position', p -> 'position', 'rsvp', p -> 'rsvp',
            'mode', p -> 'mode', 'sequence', p -> 'sequence', 'attended', p -> 'attended',
            'walk_in', p -> 'walk_in', 'reschedule', p -> 'reschedule',
            'changed', (SELECT jsonb_agg(c ->> 'field') FROM jsonb_array_elements(
                            CASE WHEN jsonb_typeof(p -> 'changes') = 'array' THEN p -> 'changes' ELSE '[]' END) c)
        ))
    );
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_audit AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION audit_event();
