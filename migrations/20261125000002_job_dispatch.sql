-- The triage queue's transactional outbox, kept on the JobRun itself: a JobRun is created
-- with dispatched_at NULL in the same transaction as its ticket event, and dispatched_at is
-- set once SQS has accepted the message. A sweep re-sends queued JobRuns that stayed
-- undispatched, so a failed send never strands a job.

ALTER TABLE job_runs ADD COLUMN dispatched_at timestamptz;
ALTER TABLE job_runs ADD COLUMN finished_at timestamptz;

-- Old rows (none in practice) count as dispatched.
UPDATE job_runs SET dispatched_at = created_at WHERE dispatched_at IS NULL;

CREATE INDEX job_runs_undispatched_idx ON job_runs (created_at)
    WHERE dispatched_at IS NULL AND status = 'queued';

-- The sweep crosses orgs, which RLS forbids the function role; this narrow definer function
-- lists only the ids it needs. The sweep then works on each job inside that org's scope.
CREATE FUNCTION undispatched_job_runs(p_older_than interval, p_limit integer)
RETURNS TABLE (job_run_id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.id, j.organization_id FROM job_runs j
    WHERE j.dispatched_at IS NULL AND j.status = 'queued'
      AND j.created_at < now() - p_older_than
    ORDER BY j.created_at
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION undispatched_job_runs(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION undispatched_job_runs(interval, integer) TO nexify_app;
