-- Per-field decisions: each suggested field carries its own confidence, and each field has
-- its own auto-apply threshold (NULL: never applied automatically). The suggestion's
-- overall confidence and auto_apply_threshold stay: the smallest of the fields', and
-- "accept the whole suggestion".
ALTER TABLE suggestions
    ADD COLUMN priority_confidence real CHECK (priority_confidence BETWEEN 0 AND 1),
    ADD COLUMN team_confidence real CHECK (team_confidence BETWEEN 0 AND 1),
    ADD COLUMN category_confidence real CHECK (category_confidence BETWEEN 0 AND 1),
    -- The fields auto-apply set on the ticket while the suggestion stayed pending.
    ADD COLUMN auto_applied_fields text[] NOT NULL DEFAULT '{}'
        CHECK (auto_applied_fields <@ ARRAY['priority', 'team', 'category']);

-- Suggestions written before this kept each head's probability in their metadata.
UPDATE suggestions SET
    priority_confidence = LEAST(GREATEST((metadata #>> '{heads,priority,probability}')::real, 0), 1),
    team_confidence = LEAST(GREATEST((metadata #>> '{heads,team,probability}')::real, 0), 1),
    category_confidence = LEAST(GREATEST((metadata #>> '{heads,category,probability}')::real, 0), 1)
WHERE metadata ? 'heads';

ALTER TABLE organization_settings
    ADD COLUMN auto_apply_priority_threshold real
        CHECK (auto_apply_priority_threshold BETWEEN 0 AND 1),
    ADD COLUMN auto_apply_team_threshold real
        CHECK (auto_apply_team_threshold BETWEEN 0 AND 1),
    ADD COLUMN auto_apply_category_threshold real
        CHECK (auto_apply_category_threshold BETWEEN 0 AND 1);
