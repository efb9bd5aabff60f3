-- The sweep also re-sends a queued JobRun whose message was accepted but has not been
-- picked up for a long time: a message lost by the broker (a LocalStack restart, a purged
-- queue, a message past its retention) would otherwise strand the job. Re-sending is safe:
-- the worker's claim is atomic and a finished job acknowledges a duplicate message.
CREATE FUNCTION stranded_job_runs(p_unsent_after interval, p_lost_after interval, p_limit integer)
RETURNS TABLE (job_run_id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.id, j.organization_id FROM job_runs j
    WHERE j.status = 'queued'
      AND ((j.dispatched_at IS NULL AND j.created_at < now() - p_unsent_after)
           OR j.dispatched_at < now() - p_lost_after)
    ORDER BY j.created_at
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION stranded_job_runs(interval, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stranded_job_runs(interval, interval, integer) TO nexify_app;
