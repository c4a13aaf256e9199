-- Reminders (issue 12): an alarm in the personal calendar feed, chosen by the participant on their page (minutes
-- before the start; NULL: none), and when the participant last changed that choice (so the feed's Last-Modified moves).
ALTER TABLE participants ADD COLUMN feed_alarm_minutes integer CHECK (feed_alarm_minutes IN (15, 60, 1440));
ALTER TABLE participants ADD COLUMN feed_alarm_changed_at timestamptz;
-- "Kom je nog?": when the person last said yes from that mail; a reminder asks again only of those whose
-- registration (or last yes) is older than the rule's ask_after.
ALTER TABLE registrations ADD COLUMN reconfirmed_at timestamptz;
