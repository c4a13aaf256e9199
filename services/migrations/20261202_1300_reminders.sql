-- Reminders before a meeting (issue 12): the rules on the meeting or its series, one row per confirmed
-- registration and rule, and the participant's opt-outs.

-- NULL: the series' rules, or else the defaults (schemas/reminders.py DEFAULT_RULES). An empty array: none.
ALTER TABLE meetings ADD COLUMN reminders jsonb;
ALTER TABLE series ADD COLUMN reminders jsonb;

-- Opt-outs, set from the links in a reminder or on the manage page: this meeting (the registration), or all.
ALTER TABLE registrations ADD COLUMN reminders_off boolean NOT NULL DEFAULT false;
ALTER TABLE participants ADD COLUMN reminders_off boolean NOT NULL DEFAULT false;

-- One row per (registration, rule). The sweep (services/reminders/service.py fire_due) claims pending rows
-- whose due_at passed: `fired` emits reminder.due (the mail job sends it once through deliveries), `missed`
-- when the start had passed as well (the worker was down). `skipped`: the moment had already passed when the
-- row would have been made (no "one week before" mail five hours before). `cancelled`: the person or the
-- meeting is no longer there, or opted out; it may become pending again (opt back in).
--
-- No foreign keys, on purpose: a key check takes FOR KEY SHARE on the meeting and the registration, and those
-- rows are the hot locks of registering and cancelling (services/seats). The sync that writes these rows
-- (services/reminders/service.py) takes no lock on them at all, and the sweep checks registration and meeting
-- again when a row falls due. Meetings and registrations are never deleted, so nothing can dangle.
CREATE TABLE reminders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meeting_id      uuid NOT NULL,
    registration_id uuid NOT NULL,
    rule            text NOT NULL,  -- "P7D@09:00", "PT2H": the rule's canonical key
    due_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'fired', 'missed', 'skipped', 'cancelled')),
    fired_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (registration_id, rule)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE status = 'pending';
CREATE INDEX reminders_meeting ON reminders (meeting_id);
