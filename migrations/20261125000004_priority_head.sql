-- Triage models may also predict the priority, learned from resolved tickets.
ALTER TABLE triage_models DROP CONSTRAINT triage_models_head_check;
ALTER TABLE triage_models ADD CONSTRAINT triage_models_head_check
    CHECK (head IN ('team', 'category', 'priority'));
