-- The sweeper's claim on an org's training, and how long its last training took.
--
-- A sweep claims an org (training_lease_until) before it trains it and releases the claim
-- when it finishes or defers. An org whose run failed or was cut off by the timeout keeps
-- its claim until it lapses, so it is retried later instead of staying first in line (by
-- labels_changed_at) and failing again every minute ahead of the orgs behind it.
-- training_seconds lets a sweep judge whether an org's training still fits before its
-- deadline.
ALTER TABLE organization_settings ADD COLUMN training_lease_until timestamptz;
ALTER TABLE organization_settings ADD COLUMN training_seconds real
    CHECK (training_seconds >= 0);

CREATE OR REPLACE FUNCTION orgs_due_for_training(p_quiet interval, p_limit integer)
RETURNS TABLE (organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.organization_id FROM organization_settings s
    WHERE s.labels_changed_at IS NOT NULL
      AND s.labels_changed_at < now() - p_quiet
      AND (s.models_trained_at IS NULL OR s.models_trained_at < s.labels_changed_at)
      AND (s.training_lease_until IS NULL OR s.training_lease_until <= now())
    ORDER BY s.labels_changed_at
    LIMIT p_limit
$$;
