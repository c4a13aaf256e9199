-- Foundation: reference data, organisations, API keys, meetings and the transactional outbox.

CREATE TABLE provinces (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE safety_regions (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE organisations (
    code               text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{1,39}$'),
    name               text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('municipality', 'region', 'organiser', 'funder')),
    province_code      text REFERENCES provinces,
    safety_region_code text REFERENCES safety_regions,
    member_codes       text[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_kind_name ON organisations (kind, name, code);

CREATE TABLE professional_groups (
    slug     text PRIMARY KEY,
    name     text NOT NULL,
    active   boolean NOT NULL DEFAULT true,
    position integer NOT NULL DEFAULT 0
);

CREATE TABLE themes (
    slug     text PRIMARY KEY,
    name     text NOT NULL,
    active   boolean NOT NULL DEFAULT true,
    position integer NOT NULL DEFAULT 0
);

INSERT INTO professional_groups (slug, name, position) VALUES
    ('wmo-consulent', 'Wmo-consulent', 1),
    ('jeugdconsulent', 'Jeugdconsulent', 2),
    ('wijkteammedewerker', 'Wijkteammedewerker', 3),
    ('beleidsmedewerker', 'Beleidsmedewerker', 4),
    ('leidinggevende', 'Leidinggevende', 5),
    ('hr-adviseur', 'HR-adviseur', 6),
    ('participatieconsulent', 'Participatieconsulent', 7),
    ('schuldhulpverlener', 'Schuldhulpverlener', 8);

INSERT INTO themes (slug, name, position) VALUES
    ('de-bedoeling', 'De bedoeling', 1),
    ('vraagverheldering', 'Vraagverheldering', 2),
    ('netwerkend-werken', 'Netwerkend werken', 3),
    ('zelfsturende-teams', 'Zelfsturende teams', 4),
    ('integraal-werken', 'Integraal werken', 5),
    ('bestaanszekerheid', 'Bestaanszekerheid', 6);

CREATE TABLE api_keys (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    prefix            text NOT NULL UNIQUE,
    secret_hash       bytea NOT NULL,
    role              text NOT NULL CHECK (role IN ('admin', 'organiser', 'funder')),
    organisation_code text REFERENCES organisations,
    name              text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    revoked_at        timestamptz,
    CHECK ((role = 'admin') = (organisation_code IS NULL))
);

CREATE TABLE series (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title             text NOT NULL,
    organiser_code    text NOT NULL REFERENCES organisations,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE meetings (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title                  text NOT NULL,
    description            text NOT NULL DEFAULT '',
    themes                 text[] NOT NULL DEFAULT '{}',
    format                 text NOT NULL,
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    timezone               text NOT NULL DEFAULT 'Europe/Amsterdam',
    venue_name             text,
    venue_address          text,
    venue_city             text,
    online_url             text,
    capacity               integer NOT NULL CHECK (capacity > 0),
    registration_opens_at  timestamptz,
    registration_closes_at timestamptz,
    audience_groups        text[] NOT NULL DEFAULT '{}',
    audience_organisations text[] NOT NULL DEFAULT '{}',
    audience_regions       text[] NOT NULL DEFAULT '{}',
    organiser_codes        text[] NOT NULL CHECK (cardinality(organiser_codes) > 0),
    funder_codes           text[] NOT NULL DEFAULT '{}',
    series_id              uuid REFERENCES series,
    status                 text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'cancelled')),
    sequence               integer NOT NULL DEFAULT 0,
    revision               integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    published_at           timestamptz,
    cancelled_at           timestamptz,
    CHECK (ends_at > starts_at),
    CHECK (registration_closes_at IS NULL OR registration_opens_at IS NULL
           OR registration_closes_at > registration_opens_at)
);
CREATE INDEX meetings_starts_at_id ON meetings (starts_at, id);
CREATE INDEX meetings_themes ON meetings USING gin (themes);
CREATE INDEX meetings_organiser_codes ON meetings USING gin (organiser_codes);
CREATE INDEX meetings_funder_codes ON meetings USING gin (funder_codes);
CREATE INDEX meetings_audience_groups ON meetings USING gin (audience_groups);
CREATE INDEX meetings_audience_organisations ON meetings USING gin (audience_organisations);
CREATE INDEX meetings_audience_regions ON meetings USING gin (audience_regions);

-- The transactional outbox: written in the same transaction as the state change it describes.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    type         text NOT NULL,
    aggregate_id uuid NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    version      integer NOT NULL DEFAULT 1,
    payload      jsonb NOT NULL,
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_aggregate ON outbox (aggregate_id, id);
