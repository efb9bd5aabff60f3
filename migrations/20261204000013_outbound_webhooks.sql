-- Outbound webhooks: an org's endpoints, and an outbox of deliveries. A change that emits an
-- event inserts one delivery per subscribed, enabled endpoint in the change's own
-- transaction, so there is no event without its change and no change without its event.
-- The sweep sends due deliveries to the deliveries queue; the deliveries function signs and
-- posts them, logs each attempt and schedules the next with exponential back-off.
CREATE TABLE webhook_endpoints (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                  text NOT NULL CHECK (char_length(url) BETWEEN 8 AND 2000),
    event_types          text[] NOT NULL CHECK (
        cardinality(event_types) >= 1
        AND event_types <@ ARRAY['ticket.created', 'ticket.updated', 'triage.suggested',
                                 'suggestion.accepted', 'suggestion.rejected',
                                 'message.created']::text[]),
    -- The HMAC key receivers verify with; shown to the admin once. (Stored as the inbound
    -- webhook secret is; encryption at rest is issue #27.)
    secret               text NOT NULL CHECK (char_length(secret) >= 32),
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_endpoints_org_id_unique UNIQUE (organization_id, id)
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (organization_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    -- The event's id: the same for every endpoint and every attempt, for receivers to
    -- deduplicate on.
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    -- The exact bytes signed and posted, the same on every attempt.
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count   integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at   timestamptz,
    last_status_code integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_endpoint_fk FOREIGN KEY (organization_id, endpoint_id)
        REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_org_id_unique UNIQUE (organization_id, id),
    CONSTRAINT webhook_deliveries_event_unique UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx
    ON webhook_deliveries (organization_id, endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Every attempt: when, the status code (none when no answer came), how long it took, and
-- at most 1 KB of the answer.
CREATE TABLE webhook_attempts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL,
    delivery_id      uuid NOT NULL,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    status_code      integer,
    latency_ms       integer NOT NULL,
    response_excerpt text CHECK (octet_length(response_excerpt) <= 1024),
    error            text,
    CONSTRAINT webhook_attempts_delivery_fk FOREIGN KEY (organization_id, delivery_id)
        REFERENCES webhook_deliveries (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery_idx
    ON webhook_attempts (organization_id, delivery_id, attempted_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO nexify_app;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO nexify_app;
GRANT SELECT, INSERT ON webhook_attempts TO nexify_app;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I_tenant ON %I
                        USING (organization_id = app_org_id())
                        WITH CHECK (organization_id = app_org_id())', t, t);
    END LOOP;
END;
$$;

-- The sweep's worklist across orgs: pending deliveries that are due and not sent to the
-- queue since `p_resend_after` (a message lost by the broker is sent again; a duplicate is
-- harmless, since the deliveries function claims before it posts).
CREATE FUNCTION due_webhook_deliveries(p_resend_after interval, p_limit integer)
RETURNS TABLE (delivery_id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT d.id, d.organization_id FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.dispatched_at IS NULL OR d.dispatched_at < now() - p_resend_after)
    ORDER BY d.next_attempt_at
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION due_webhook_deliveries(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_webhook_deliveries(interval, integer) TO nexify_app;

ALTER TABLE audit_records DROP CONSTRAINT audit_records_action_check;
ALTER TABLE audit_records ADD CONSTRAINT audit_records_action_check CHECK (action IN (
    'member_role_changed', 'member_removed', 'invite_created', 'invite_revoked',
    'invite_accepted', 'webhook_endpoint_created', 'webhook_endpoint_changed',
    'webhook_endpoint_deleted', 'webhook_endpoint_disabled'));
