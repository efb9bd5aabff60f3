-- The triage worker's database work in three calls, one round trip each: the claim with what
-- the engine reads first (triage_claim), the context found by the ticket's embedding
-- (triage_context), and the record of the result (triage_record). Each runs as one
-- statement in its own implicit transaction and scopes it to the org first, as
-- nexify_storage::begin_tenant does; they run as the caller, so row-level security applies.
-- The knowledge base's searches move here too (nearest_chunks, hybrid_search), so that the
-- API's search and the worker run the same SQL.
--
-- Each function's statements are planned once per connection (a generic plan, cached with
-- the function) instead of for every call: their shape does not depend on the values, and
-- planning the context's statement on each call was a large share of its cost.

-- The HNSW scan options for the rest of the transaction: keep walking the graph until enough
-- of the org's chunks are found, with a candidate list of 100 (pgvector's default is 40).
CREATE FUNCTION prepare_vector_scan() RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
           set_config('hnsw.ef_search', '100', true)
$$;
GRANT EXECUTE ON FUNCTION prepare_vector_scan() TO nexify_app;

-- The org's `n` chunks nearest to `embedding`: exact for orgs of at most 2,000 chunks
-- (nexify_storage::documents::EXACT_SEARCH_MAX_CHUNKS), through the HNSW index of the org's
-- partition beyond (run prepare_vector_scan first in the transaction). A zero vector's
-- distances are NaN, which says nothing of nearness: left out. Plain SQL, so that the
-- planner inlines it into its caller's statement.
CREATE FUNCTION nearest_chunks(org uuid, embedding vector, n bigint)
RETURNS TABLE (id uuid, distance float8)
LANGUAGE sql STABLE AS $$
    WITH org_size AS (
        SELECT count(*) AS n FROM (
            SELECT 1 FROM document_chunks c WHERE c.organization_id = $1 LIMIT 2000 + 1) s)
    SELECT v.id, v.d FROM (
        (SELECT c.id, c.embedding <=> $2 AS d FROM document_chunks c
         WHERE c.organization_id = $1 AND (SELECT s.n FROM org_size s) <= 2000
         -- `+ 0` keeps the planner off the HNSW index: this branch is the exact one.
         ORDER BY (c.embedding <=> $2) + 0 LIMIT $3)
        UNION ALL
        (SELECT c.id, c.embedding <=> $2 AS d FROM document_chunks c
         WHERE c.organization_id = $1 AND (SELECT s.n FROM org_size s) > 2000
         ORDER BY c.embedding <=> $2 LIMIT $3)) v
    WHERE v.d <> 'NaN'
$$;
GRANT EXECUTE ON FUNCTION nearest_chunks(uuid, vector, bigint) TO nexify_app;

-- Hybrid retrieval: the nearest chunks by embedding and a full-text search, `candidates`
-- each, fused by reciprocal rank (k = 60, so that one list's top ranks do not drown the
-- other's); the best `k`, with each chunk's cosine similarity to the query. Run
-- prepare_vector_scan first in the transaction. Plain SQL, so that the planner inlines it.
CREATE FUNCTION hybrid_search(org uuid, embedding vector, query text, candidates bigint, k bigint)
RETURNS TABLE (id uuid, organization_id uuid, document_id uuid, chunk_index integer,
               char_start integer, char_end integer, content text, title text, score float8,
               similarity float8)
LANGUAGE sql STABLE AS $$
    WITH vec AS (
        SELECT v.id, row_number() OVER (ORDER BY v.distance, v.id) AS r
        FROM nearest_chunks($1, $2, $4) v),
    fts AS (
        SELECT f.id, row_number() OVER (ORDER BY f.rank DESC, f.id) AS r FROM (
            SELECT c.id, ts_rank_cd(c.search, q) AS rank
            FROM document_chunks c, websearch_to_tsquery('english', $3) q
            WHERE c.organization_id = $1 AND c.search @@ q
            ORDER BY rank DESC LIMIT $4) f),
    fused AS (
        SELECT COALESCE(vec.id, fts.id) AS id,
               COALESCE(1.0 / (60 + vec.r), 0) + COALESCE(1.0 / (60 + fts.r), 0) AS score
        FROM vec FULL JOIN fts ON fts.id = vec.id)
    SELECT c.id, c.organization_id, c.document_id, c.chunk_index, c.char_start, c.char_end,
           c.content, d.title, f.score::float8,
           COALESCE(NULLIF((1 - (c.embedding <=> $2))::float8, 'NaN'), 0)
    FROM fused f
    JOIN document_chunks c ON c.id = f.id AND c.organization_id = $1
    JOIN documents d ON d.id = c.document_id AND d.organization_id = $1
    ORDER BY f.score DESC, c.id LIMIT $5
$$;
GRANT EXECUTE ON FUNCTION hybrid_search(uuid, vector, text, bigint, bigint) TO nexify_app;

-- The `k` labelled tickets (resolved, or with an accepted suggestion) nearest to
-- `embedding`, other than `exclude`, most similar first, each with the draft of its latest
-- accepted suggestion. Exact search over the org's labelled rows (the `labelled` flag and
-- its partial index).
CREATE FUNCTION nearest_labelled(org uuid, embedder text, embedding vector, exclude uuid, k bigint)
RETURNS TABLE (ticket_id uuid, subject text, priority text, assigned_team text, category text,
               similarity float8, reply text)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.subject, t.priority, t.assigned_team, t.category,
           (1 - n.distance)::float8,
           (SELECT s.draft_reply FROM suggestions s
            WHERE s.organization_id = t.organization_id AND s.ticket_id = t.id
              AND s.status = 'accepted'
            ORDER BY s.decided_at DESC NULLS LAST LIMIT 1)
    FROM (SELECT e.ticket_id, e.embedding <=> $3 AS distance FROM ticket_embeddings e
          WHERE e.organization_id = $1 AND e.embedder = $2 AND e.labelled
            AND e.ticket_id <> $4
          ORDER BY e.embedding <=> $3, e.ticket_id LIMIT $5) n
    -- One index lookup for each of the few found (OFFSET 0 keeps the planner from turning
    -- this into a scan of all the org's tickets).
    CROSS JOIN LATERAL (SELECT * FROM tickets t
                        WHERE t.organization_id = $1 AND t.id = n.ticket_id OFFSET 0) t
    ORDER BY n.distance, t.id
$$;
GRANT EXECUTE ON FUNCTION nearest_labelled(uuid, text, vector, uuid, bigint) TO nexify_app;

-- A labelled ticket's latest accepted suggestion (its approved reply), and whether it has
-- one at all: one index entry each, instead of the org's decided suggestions.
CREATE INDEX suggestions_accepted_by_ticket_idx ON suggestions (organization_id, ticket_id, decided_at DESC NULLS LAST)
    WHERE status = 'accepted';

-- Claims the job when it is queued, or running and not heard from for `lease_seconds`, and
-- reads what the engine needs before the embedding: the ticket, the requester's messages,
-- the org's labels and which priorities its labelled tickets use. When the job is not
-- claimed, only its status (null when it does not exist). The claim's commit does not wait
-- for the WAL flush: lost in a crash, the job reads as before and the redelivered message
-- claims it again.
CREATE FUNCTION triage_claim(org uuid, job uuid, lease_seconds float8) RETURNS jsonb
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
        RETURN jsonb_build_object('held',
            (SELECT j.status FROM job_runs j WHERE j.organization_id = org AND j.id = job));
    END IF;
    RETURN jsonb_build_object(
        'job', to_jsonb(claimed),
        'ticket', (SELECT jsonb_build_object('id', t.id, 'subject', t.subject, 'body', t.body,
                                             'priority', t.priority)
                   FROM tickets t WHERE t.organization_id = org AND t.id = claimed.ticket_id),
        'written', (SELECT COALESCE(jsonb_agg(m.body ORDER BY m.created_at, m.id), '[]')
                    FROM ticket_messages m
                    WHERE m.organization_id = org AND m.ticket_id = claimed.ticket_id
                      AND m.kind = 'inbound' AND m.body <> ''),
        'labels', (SELECT jsonb_build_object('teams', s.teams, 'categories', s.categories,
                                             'default_team', s.default_team,
                                             'default_category', s.default_category)
                   FROM organization_settings s WHERE s.organization_id = org),
        'priorities_used', (
            SELECT COALESCE(jsonb_agg(p.priority ORDER BY p.rank), '[]')
            FROM unnest(ARRAY['low', 'medium', 'high', 'urgent']) WITH ORDINALITY AS p(priority, rank)
            WHERE EXISTS (
                SELECT 1 FROM tickets t
                WHERE t.organization_id = org AND t.priority = p.priority
                  AND (t.status = 'resolved' OR EXISTS (
                      SELECT 1 FROM suggestions s
                      WHERE s.organization_id = t.organization_id AND s.ticket_id = t.id
                        AND s.status = 'accepted')))));
END
$$;
GRANT EXECUTE ON FUNCTION triage_claim(uuid, uuid, float8) TO nexify_app;

-- What the ticket's embedding finds: its nearest labelled tickets, the knowledge base's best
-- passages for `query`, and the org's current model versions (the worker reloads its
-- models only when these change).
CREATE FUNCTION triage_context(org uuid, embedder text, embedding vector, ticket uuid,
                               query text, similar_k bigint, passages_k bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM set_config('app.org_id', org::text, true), set_config('app.user_id', '', true),
            prepare_vector_scan();
    RETURN jsonb_build_object(
        'similar', (SELECT COALESCE(jsonb_agg(to_jsonb(n)), '[]')
                    FROM nearest_labelled(org, embedder, embedding, ticket, similar_k) n),
        'passages', (SELECT COALESCE(jsonb_agg(to_jsonb(h)), '[]')
                     FROM hybrid_search(org, embedding, query, greatest(passages_k * 4, 40),
                                        passages_k) h),
        'versions', (SELECT COALESCE(jsonb_agg(jsonb_build_array(m.head, m.version)
                                                ORDER BY m.head), '[]')
                     FROM (SELECT head, max(version) AS version FROM triage_models
                           WHERE organization_id = org GROUP BY head) m));
END
$$;
GRANT EXECUTE ON FUNCTION triage_context(uuid, text, vector, uuid, text, bigint, bigint) TO nexify_app;

-- Records a triage in one transaction: the suggestion `s` (its id and time chosen by the
-- worker, so that the outbound event `envelope` could be written beforehand), its
-- `ai_triage_ran` event, the `triage.suggested` deliveries to the org's subscribed
-- endpoints, the ticket's embedding and the job's success. It records nothing and answers
-- {"deferred": true} when the org has any auto-apply setting: the worker then records in a
-- transaction of its own, where the rules of accepting live. {"conflict": true} when the
-- job already has its suggestion (a racing delivery recorded it first).
CREATE FUNCTION triage_record(org uuid, s jsonb, event_payload jsonb, outbound_event uuid,
                              envelope text, embedder_name text, ticket_vector vector)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    deliveries jsonb;
BEGIN
    PERFORM set_config('app.org_id', org::text, true), set_config('app.user_id', '', true);
    IF EXISTS (SELECT 1 FROM organization_settings o
               WHERE o.organization_id = org
                 AND (o.auto_apply_threshold IS NOT NULL
                      OR o.auto_apply_priority_threshold IS NOT NULL
                      OR o.auto_apply_team_threshold IS NOT NULL
                      OR o.auto_apply_category_threshold IS NOT NULL)) THEN
        RETURN jsonb_build_object('deferred', true);
    END IF;
    BEGIN
        INSERT INTO suggestions (id, organization_id, ticket_id, job_run_id, suggested_priority,
               suggested_team, classification, draft_reply, citations, confidence, metadata,
               priority_confidence, team_confidence, category_confidence, created_at,
               updated_at)
        VALUES ((s->>'id')::uuid, org, (s->>'ticket_id')::uuid, (s->>'job_run_id')::uuid,
                s->>'suggested_priority', s->>'suggested_team', s->>'classification',
                s->>'draft_reply', s->'citations', (s->>'confidence')::real, s->'metadata',
                (s->'field_confidence'->>'priority')::real,
                (s->'field_confidence'->>'team')::real,
                (s->'field_confidence'->>'category')::real,
                (s->>'created_at')::timestamptz, (s->>'created_at')::timestamptz);
    EXCEPTION WHEN unique_violation THEN
        RETURN jsonb_build_object('conflict', true);
    END;
    INSERT INTO ticket_events (organization_id, ticket_id, job_run_id, event_type, actor_type,
           payload)
    VALUES (org, (s->>'ticket_id')::uuid, (s->>'job_run_id')::uuid, 'ai_triage_ran', 'ai',
            event_payload);
    WITH written AS (
        INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_id, event_type, body)
        SELECT org, e.id, outbound_event, 'triage.suggested', envelope FROM webhook_endpoints e
        WHERE e.organization_id = org AND e.enabled AND 'triage.suggested' = ANY (e.event_types)
        RETURNING id)
    SELECT COALESCE(jsonb_agg(id), '[]') INTO deliveries FROM written;
    INSERT INTO ticket_embeddings (organization_id, ticket_id, embedder, embedding)
    VALUES (org, (s->>'ticket_id')::uuid, embedder_name, ticket_vector)
    ON CONFLICT (organization_id, ticket_id, embedder) DO UPDATE SET embedding = excluded.embedding;
    UPDATE job_runs SET status = 'succeeded', last_error = NULL, last_error_code = NULL,
           finished_at = now()
     WHERE organization_id = org AND id = (s->>'job_run_id')::uuid;
    RETURN jsonb_build_object('deliveries', deliveries);
END
$$;
GRANT EXECUTE ON FUNCTION triage_record(uuid, jsonb, jsonb, uuid, text, text, vector) TO nexify_app;
