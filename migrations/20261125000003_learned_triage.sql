-- Learned triage: a ticket's category (the label agents confirm), per-org trained models,
-- and the bookkeeping that debounces retraining.

ALTER TABLE tickets ADD COLUMN category text CHECK (char_length(category) BETWEEN 1 AND 64);
CREATE INDEX tickets_org_category_idx ON tickets (organization_id, category);

-- One row per trained model version. `head` is what it predicts: the team or the category.
-- The model itself is a compact binary (see nexify_triage::model); labels are kept in the
-- clear so a model is never applied to an org whose label set has moved on.
CREATE TABLE triage_models (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    head            text NOT NULL CHECK (head IN ('team', 'category')),
    version         integer NOT NULL CHECK (version > 0),
    labels          text[] NOT NULL,
    model           bytea NOT NULL,
    trained_on      integer NOT NULL CHECK (trained_on >= 0),
    metrics         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT triage_models_version_unique UNIQUE (organization_id, head, version)
);
CREATE TRIGGER triage_models_set_updated_at BEFORE UPDATE ON triage_models
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE triage_models ENABLE ROW LEVEL SECURITY;
CREATE POLICY triage_models_tenant ON triage_models
    USING (organization_id = app_org_id()) WITH CHECK (organization_id = app_org_id());
GRANT SELECT, INSERT, DELETE ON triage_models TO nexify_app;

-- Retraining is requested by bumping labels_changed_at; the trainer picks up orgs whose
-- labels changed since their last training and have been quiet for a short while.
ALTER TABLE organization_settings ADD COLUMN labels_changed_at timestamptz;
ALTER TABLE organization_settings ADD COLUMN models_trained_at timestamptz;

CREATE FUNCTION orgs_due_for_training(p_quiet interval, p_limit integer)
RETURNS TABLE (organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.organization_id FROM organization_settings s
    WHERE s.labels_changed_at IS NOT NULL
      AND s.labels_changed_at < now() - p_quiet
      AND (s.models_trained_at IS NULL OR s.models_trained_at < s.labels_changed_at)
    ORDER BY s.labels_changed_at
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION orgs_due_for_training(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION orgs_due_for_training(interval, integer) TO nexify_app;
