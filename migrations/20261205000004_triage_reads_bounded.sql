-- The triage worker's two reads, made cheaper and bounded as an org's history grows:
--
-- 1. Which priorities the org's labelled tickets use (triage_claim) was a scan of all the
--    org's tickets: the planner takes every priority for a common one and expects an early
--    match, so a priority that no labelled ticket has read the whole history on every job.
--    It is now a loose index scan (one probe per distinct value) over two small partial
--    indexes: resolved tickets by priority, and accepted suggestions by the priority the
--    agent accepted (accepting applies it to the ticket).
-- 2. A knowledge-base chunk (at most 800 characters, its text-search vector and a 384-wide
--    embedding) is just over Postgres's default 2 kB row target, so one column went to the
--    TOAST table, usually the embedding: every exact search then made a TOAST index lookup
--    per chunk. Rows up to 4 kB now stay whole in the table, and the stored ones are
--    rewritten.
-- 3. triage_claim and triage_context build `json` instead of `jsonb`: the worker only
--    parses the answer, and `jsonb` re-encoded each nested value at every level (the
--    worker's decoder reads either type).

CREATE INDEX tickets_org_resolved_priority_idx ON tickets (organization_id, priority)
    WHERE status = 'resolved';
CREATE INDEX suggestions_org_accepted_priority_idx ON suggestions (organization_id, suggested_priority)
    WHERE status = 'accepted';

-- The distinct priorities of the org's resolved tickets and accepted suggestions, lowest
-- first: at most five index probes each, whatever the history's size.
CREATE FUNCTION labelled_priorities(org uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE resolved(priority) AS (
        (SELECT t.priority FROM tickets t
         WHERE t.organization_id = $1 AND t.status = 'resolved'
         ORDER BY t.priority LIMIT 1)
        UNION ALL
        SELECT (SELECT t.priority FROM tickets t
                WHERE t.organization_id = $1 AND t.status = 'resolved' AND t.priority > r.priority
                ORDER BY t.priority LIMIT 1)
        FROM resolved r WHERE r.priority IS NOT NULL),
    accepted(priority) AS (
        (SELECT s.suggested_priority FROM suggestions s
         WHERE s.organization_id = $1 AND s.status = 'accepted'
         ORDER BY s.suggested_priority LIMIT 1)
        UNION ALL
        SELECT (SELECT s.suggested_priority FROM suggestions s
                WHERE s.organization_id = $1 AND s.status = 'accepted'
                  AND s.suggested_priority > a.priority
                ORDER BY s.suggested_priority LIMIT 1)
        FROM accepted a WHERE a.priority IS NOT NULL)
    SELECT COALESCE(json_agg(p.priority ORDER BY p.rank), '[]')
    FROM unnest(ARRAY['low', 'medium', 'high', 'urgent']) WITH ORDINALITY AS p(priority, rank)
    WHERE p.priority IN (SELECT priority FROM resolved UNION SELECT priority FROM accepted)
$$;
GRANT EXECUTE ON FUNCTION labelled_priorities(uuid) TO nexify_app;

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'document_chunks'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 4080)', part);
    END LOOP;
END
$$;
-- Rewriting a row is not an edit: its updated_at stays.
ALTER TABLE document_chunks DISABLE TRIGGER document_chunks_set_updated_at;
UPDATE document_chunks SET content = content, embedding = embedding::real[]::vector
 WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL
    OR pg_column_toast_chunk_id(search) IS NOT NULL;
ALTER TABLE document_chunks ENABLE TRIGGER document_chunks_set_updated_at;

-- As in migration triage_steps, with the priorities above and `json`.
DROP FUNCTION triage_claim(uuid, uuid, float8);
CREATE FUNCTION triage_claim(org uuid, job uuid, lease_seconds float8) RETURNS json
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    claimed job_runs;
BEGIN
    PERFORM set_config('app.org_id', org::text, true), set_config('app.user_id', '', true),
            set_config('synchronous_commit', 'off', true);
    UPDATE job_runs j SET status = 'running', attempt_count = j.attempt_count + 1,
           last_attempt_at = now()
     WHERE j.organization_id = org AND j.id = job
       AND (j.status = 'queued'
            OR (j.status = 'running'
                AND j.last_attempt_at < now() - make_interval(secs => lease_seconds)))
    RETURNING j.* INTO claimed;
    IF NOT FOUND THEN
        RETURN json_build_object('held',
            (SELECT j.status FROM job_runs j WHERE j.organization_id = org AND j.id = job));
    END IF;
    RETURN json_build_object(
        'job', to_json(claimed),
        'ticket', (SELECT json_build_object('id', t.id, 'subject', t.subject, 'body', t.body,
                                            'priority', t.priority)
                   FROM tickets t WHERE t.organization_id = org AND t.id = claimed.ticket_id),
        'written', (SELECT COALESCE(json_agg(m.body ORDER BY m.created_at, m.id), '[]')
                    FROM ticket_messages m
                    WHERE m.organization_id = org AND m.ticket_id = claimed.ticket_id
                      AND m.kind = 'inbound' AND m.body <> ''),
        'labels', (SELECT json_build_object('teams', s.teams, 'categories', s.categories,
                                            'default_team', s.default_team,
                                            'default_category', s.default_category)
                   FROM organization_settings s WHERE s.organization_id = org),
        'priorities_used', labelled_priorities(org));
END
$$;
GRANT EXECUTE ON FUNCTION triage_claim(uuid, uuid, float8) TO nexify_app;

DROP FUNCTION triage_context(uuid, text, vector, uuid, text, bigint, bigint);
CREATE FUNCTION triage_context(org uuid, embedder text, embedding vector, ticket uuid,
                               query text, similar_k bigint, passages_k bigint)
RETURNS json
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM set_config('app.org_id', org::text, true), set_config('app.user_id', '', true),
            prepare_vector_scan();
    RETURN json_build_object(
        'similar', (SELECT COALESCE(json_agg(n), '[]')
                    FROM nearest_labelled(org, embedder, embedding, ticket, similar_k) n),
        'passages', (SELECT COALESCE(json_agg(h), '[]')
                     FROM hybrid_search(org, embedding, query, greatest(passages_k * 4, 40),
                                        passages_k) h),
        'versions', (SELECT COALESCE(json_agg(json_build_array(m.head, m.version)
                                              ORDER BY m.head), '[]')
                     FROM (SELECT head, max(version) AS version FROM triage_models
                           WHERE organization_id = org GROUP BY head) m));
END
$$;
GRANT EXECUTE ON FUNCTION triage_context(uuid, text, vector, uuid, text, bigint, bigint) TO nexify_app;
