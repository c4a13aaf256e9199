-- A meeting can stay off the agenda (`listed = false`): not in the public list, the agenda or the shared feeds
-- (public, theme, professional group, organisation or body: all public), while its page, its registrations and the
-- personal feeds of the people in it keep it. Learning-circle sessions are such meetings: only the
-- members of the circle are registered, and everyone else would see meetings they cannot join.
ALTER TABLE meetings ADD COLUMN listed boolean NOT NULL DEFAULT true;
ALTER TABLE meeting_fragments ADD COLUMN listed boolean NOT NULL DEFAULT true;

UPDATE meetings SET listed = false WHERE series_id IN (SELECT series_id FROM circle_series);
UPDATE meeting_fragments f SET listed = false FROM meetings m WHERE m.id = f.meeting_id AND NOT m.listed;
