-- Open evaluation answers are free text and may hold personal data (a colleague's name, a case): they are removed
-- `retention_evaluation_text_months` after the form closed (services/retention). The figures stay. Set when that
-- was done, so each evaluation is rewritten once; the partial index finds the closed ones still to do.
ALTER TABLE evaluations ADD COLUMN open_answers_removed_at timestamptz;
CREATE INDEX evaluations_open_answers_kept ON evaluations (closes_at) WHERE open_answers_removed_at IS NULL;
