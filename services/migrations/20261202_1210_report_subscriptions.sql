-- Scheduled funder reports: a funder subscribes an address to a monthly or quarterly report, mailed as a workbook
-- once per period. The schedule is a scheduled_tasks row per period (unique per subscription and period), the
-- mail a deliveries row keyed by subscription and period: exactly once, whatever runs twice.
CREATE TABLE report_subscriptions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    funder_code  text NOT NULL REFERENCES organisations,
    -- a staff mailbox of the funding body (not a participant's)
    email        text NOT NULL CHECK (email = lower(email)),
    frequency    text NOT NULL CHECK (frequency IN ('month', 'quarter')),
    group_by     text[] NOT NULL DEFAULT '{}' CHECK (cardinality(group_by) <= 2),
    created_by   uuid REFERENCES api_keys ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz
);
CREATE INDEX report_subscriptions_funder ON report_subscriptions (funder_code, created_at) WHERE cancelled_at IS NULL;
