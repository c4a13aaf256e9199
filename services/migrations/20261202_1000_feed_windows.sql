-- Feeds of organising and funding bodies, and calendar entries that follow renames and the configured base URL.

-- The bodies that organise or fund a meeting (meetings.organiser_codes and funder_codes), copied with the text
-- like the other membership columns: /feeds/organisations/{code}.ics of such a body selects on it.
ALTER TABLE meeting_fragments
    ADD COLUMN body_codes   text[] NOT NULL DEFAULT '{}',
    -- What the text was rendered for: the base URL in its links and the ORGANIZER address
    -- (services/feeds/fragments.render_key). The stale-fragment sweep re-renders fragments whose key differs from
    -- the worker's, so a new LEERKRING_BASE_URL reaches every feed entry without a meeting being edited.
    ADD COLUMN rendered_for text NOT NULL DEFAULT '';

UPDATE meeting_fragments f
SET body_codes = ARRAY(SELECT DISTINCT c FROM unnest(m.organiser_codes || m.funder_codes) AS c ORDER BY c)
FROM meetings m WHERE m.id = f.meeting_id;

CREATE INDEX meeting_fragments_body_codes ON meeting_fragments USING gin (body_codes);

-- A fragment carries the names of its themes (CATEGORIES) and organisers (ORGANIZER;CN). When one is renamed, its
-- fragments are marked stale (render_version 0 is older than any RENDER_VERSION), and the sweep renders them anew.
CREATE FUNCTION feeds_fragment_names_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.name IS NOT DISTINCT FROM NEW.name THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'themes' THEN
        UPDATE meeting_fragments SET render_version = 0 WHERE NEW.slug = ANY(themes) AND render_version <> 0;
    ELSE
        UPDATE meeting_fragments f SET render_version = 0
        FROM meetings m
        WHERE m.id = f.meeting_id AND NEW.code = ANY(m.organiser_codes) AND f.render_version <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER themes_fragment_names AFTER UPDATE OF name ON themes
    FOR EACH ROW EXECUTE FUNCTION feeds_fragment_names_changed();
CREATE TRIGGER organisations_fragment_names AFTER UPDATE OF name ON organisations
    FOR EACH ROW EXECUTE FUNCTION feeds_fragment_names_changed();
