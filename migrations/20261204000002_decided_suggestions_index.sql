-- The model page scores an org's suggestions decided in the last days, newest first.
CREATE INDEX suggestions_org_decided_idx ON suggestions (organization_id, decided_at DESC)
    WHERE status <> 'pending';
