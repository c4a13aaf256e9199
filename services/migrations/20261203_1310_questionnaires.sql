-- Questionnaire templates (issue 12): an organising body's own questions, attached to a meeting or a series; none
-- attached means the built-in Dutch default (services/evaluations/questionnaire.py DEFAULT).
CREATE TABLE questionnaires (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organiser_code  text NOT NULL REFERENCES organisations,
    name            text NOT NULL,
    questions       jsonb NOT NULL,   -- services/evaluations/questionnaire.py Question, as stored by templates.py
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questionnaires_owner ON questionnaires (organiser_code, created_at);

ALTER TABLE meetings ADD COLUMN questionnaire_id uuid REFERENCES questionnaires;
ALTER TABLE series ADD COLUMN questionnaire_id uuid REFERENCES questionnaires;
-- The questions as they were when the evaluation opened: answers are always read against the questions that were
-- asked, whatever happens to the template later. NULL: the built-in questionnaire named in `questionnaire`.
ALTER TABLE evaluations ADD COLUMN questions jsonb;
