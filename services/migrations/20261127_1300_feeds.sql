-- Calendar feeds: per-meeting VEVENT fragments rendered by workers, per-feed change marks, and one generation
-- counter that API processes poll (at most once a second) to learn that a cached feed body may be stale.
-- A feed request only reads these tables: it never renders, locks or writes.

-- One row per meeting that was ever public (published, or cancelled after publishing). Drafts never get one.
-- The membership columns are a copy taken together with the text, so a feed is always consistent with the
-- fragments in it, even while a newer revision of the meeting waits for its job.
CREATE TABLE meeting_fragments (
    meeting_id        uuid PRIMARY KEY REFERENCES meetings ON DELETE CASCADE,
    revision          integer NOT NULL,      -- meetings.revision this text was rendered from
    sequence          integer NOT NULL,      -- meetings.sequence at that revision (iCalendar SEQUENCE)
    render_version    integer NOT NULL,      -- services/feeds/fragments.RENDER_VERSION; older ones get re-rendered
    cancelled         boolean NOT NULL,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    tzid              text NOT NULL,
    themes            text[] NOT NULL,
    audience_groups   text[] NOT NULL,       -- empty: every professional group
    audience_codes    text[] NOT NULL,       -- audience organisations and regions; empty: every organisation
    vevent            bytea NOT NULL,        -- folded CRLF VEVENT, UTF-8, as it appears in every feed
    vevent_waitlisted bytea,                 -- personal-feed variants (TENTATIVE); NULL when cancelled
    vevent_offered    bytea,
    content_hash      bigint NOT NULL,       -- over all three texts; feeds XOR these into their ETag
    dtstamp           timestamptz NOT NULL,  -- meetings.updated_at at that revision (DTSTAMP, LAST-MODIFIED)
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Every feed selects "ends_at > cutoff" (a few weeks back), and the Last-Modified of a feed looks for the most
-- recent meeting that dropped out of that window.
CREATE INDEX meeting_fragments_ends_at ON meeting_fragments (ends_at);

-- When each feed last changed, for Last-Modified. Keys: 'public', 'theme:<slug>', 'group:<slug>', 'group:*',
-- 'aud:<code>', 'aud:*' (meetings for everybody), 'org:*' (organisation data changed). Written by the fragment
-- job for the feeds a meeting leaves and enters, and by the triggers below.
CREATE TABLE feed_changes (
    key        text PRIMARY KEY,
    changed_at timestamptz NOT NULL
);

-- One row: bumped (by trigger) in the same transaction as every change to feed_changes, so an API process that
-- reads an unchanged generation knows that no feed changed since it last looked.
CREATE TABLE feed_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint NOT NULL
);
INSERT INTO feed_state (id, generation) VALUES (true, 1);

CREATE FUNCTION feeds_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE feed_state SET generation = generation + 1 WHERE id;
    RETURN NULL;
END
$$;

CREATE TRIGGER feed_changes_generation AFTER INSERT OR UPDATE OR DELETE ON feed_changes
    FOR EACH STATEMENT EXECUTE FUNCTION feeds_bump_generation();

CREATE FUNCTION feeds_mark_changed(changed_key text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO feed_changes (key, changed_at) VALUES (changed_key, clock_timestamp())
    ON CONFLICT (key) DO UPDATE SET changed_at = excluded.changed_at;
$$;

-- Calendar names come from these rows, and an organisation's feed follows its province, safety region and
-- region memberships, so changes there are feed changes too.
CREATE FUNCTION feeds_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slug text;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'organisations' THEN
        PERFORM feeds_mark_changed('org:*');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        slug := OLD.slug;
    ELSE
        slug := NEW.slug;
    END IF;
    PERFORM feeds_mark_changed(CASE TG_TABLE_NAME WHEN 'themes' THEN 'theme:' ELSE 'group:' END || slug);
    RETURN NULL;
END
$$;

CREATE TRIGGER organisations_feeds AFTER INSERT OR UPDATE OR DELETE ON organisations
    FOR EACH ROW EXECUTE FUNCTION feeds_catalog_changed();
CREATE TRIGGER themes_feeds AFTER INSERT OR UPDATE OR DELETE ON themes
    FOR EACH ROW EXECUTE FUNCTION feeds_catalog_changed();
CREATE TRIGGER professional_groups_feeds AFTER INSERT OR UPDATE OR DELETE ON professional_groups
    FOR EACH ROW EXECUTE FUNCTION feeds_catalog_changed();
