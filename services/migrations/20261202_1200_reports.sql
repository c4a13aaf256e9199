-- Funder reports: record keys for cell-key perturbation, who a person was at the door, the municipal division's
-- history and an index for the period filter. services/reports/ reads all of this.

-- A secret, random key per person: the noise a report adds to a cell is derived from the sum of its records' keys,
-- so the same people give the same noise in every table and nobody without the database can predict it. Random, not
-- derived from the participant id, because organisers see participant ids.
ALTER TABLE participants
    ADD COLUMN report_key integer NOT NULL DEFAULT (floor(random() * 2147483647))::integer;

-- Who the person was when their attendance was recorded: a report counts reach by the municipality of that day,
-- not by where somebody works now. No foreign key: the code may be that of a municipality that has since merged.
ALTER TABLE attendance
    ADD COLUMN organisation_code  text,
    ADD COLUMN professional_group text;

CREATE FUNCTION attendance_profile_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organisation_code IS NULL AND NEW.professional_group IS NULL THEN
        SELECT p.organisation_code, p.professional_group INTO NEW.organisation_code, NEW.professional_group
        FROM participants p WHERE p.id = NEW.participant_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER attendance_profile_snapshot BEFORE INSERT ON attendance
    FOR EACH ROW EXECUTE FUNCTION attendance_profile_snapshot();

UPDATE attendance a SET organisation_code = p.organisation_code, professional_group = p.professional_group
FROM participants p WHERE p.id = a.participant_id AND a.organisation_code IS NULL;

-- Every municipality since the history we ship starts, current or merged away. Filled (idempotently) from
-- services/organisations/data/municipality_changes.csv together with the current division.
CREATE TABLE municipality_history (
    code               text PRIMARY KEY,
    name               text NOT NULL,
    province_code      text REFERENCES provinces,
    safety_region_code text REFERENCES safety_regions,
    -- The day it was formed, when that falls inside the history we ship; NULL: it existed before.
    began_on           date,
    -- The day it stopped existing (its people belong to `successor_code` from then on); NULL: it exists today.
    ended_on           date,
    successor_code     text,
    CHECK ((ended_on IS NULL) = (successor_code IS NULL))
);

-- Derived from municipality_history: a person recorded under `code` belonged, on any day in [from_on, to_on), to
-- `code_then`. One row per step of the chain, so a report finds "the municipality as at the meeting's date" with one
-- equality join and a range test; `code_today` is the end of the chain (the roll-up to today's division).
CREATE TABLE municipality_map (
    code       text NOT NULL,
    from_on    date NOT NULL,
    to_on      date NOT NULL,
    code_then  text NOT NULL,
    code_today text NOT NULL,
    PRIMARY KEY (code, from_on)
);

-- Reports select meetings by the local date of their start. The index is there for its statistics as much as for
-- lookups: without them the planner guesses a handful of meetings and picks nested loops over a million rows.
CREATE INDEX meetings_local_date ON meetings (((starts_at AT TIME ZONE timezone)::date));

-- Evaluation figures come straight from evaluation_responses (20261202_1310): per meeting, since answers carry
-- no person (services/reports/queries.py EVALUATED).
