-- triage_record without its exception block: catching the unique violation made every call
-- open a subtransaction (a savepoint and a subtransaction id for its insert). The job's one
-- suggestion is now kept by ON CONFLICT on suggestions_job_run_unique, which waits for a
-- racing insert as the exception block did and then records nothing.

-- Records a triage in one transaction: the suggestion `s` (its id and time chosen by the
-- worker, so that the outbound event `envelope` could be written beforehand), its
-- `ai_triage_ran` event, the `triage.suggested` deliveries to the org's subscribed
-- endpoints, the ticket's embedding and the job's success. It records nothing and answers
-- {"deferred": true} when the org has any auto-apply setting: the worker then records in a
-- transaction of its own, where the rules of accepting live. {"conflict": true} when the
-- job already has its suggestion (a racing delivery recorded it first).
CREATE OR REPLACE FUNCTION triage_record(org uuid, s jsonb, event_payload jsonb, outbound_event uuid,
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
    INSERT INTO suggestions (id, organization_id, ticket_id, job_run_id, suggested_priority,
           suggested_team, classification, draft_reply, citations, confidence, metadata,
           priority_confidence, team_confidence, category_confidence, created_at, updated_at)
    VALUES ((s->>'id')::uuid, org, (s->>'ticket_id')::uuid, (s->>'job_run_id')::uuid,
            s->>'suggested_priority', s->>'suggested_team', s->>'classification',
            s->>'draft_reply', s->'citations', (s->>'confidence')::real, s->'metadata',
            (s->'field_confidence'->>'priority')::real,
            (s->'field_confidence'->>'team')::real,
            (s->'field_confidence'->>'category')::real,
            (s->>'created_at')::timestamptz, (s->>'created_at')::timestamptz)
    ON CONFLICT ON CONSTRAINT suggestions_job_run_unique DO NOTHING;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('conflict', true);
    END IF;
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
