-- Signed webhook requests already received, by (org, signature), for as long as their
-- timestamp is acceptable (5 minutes either way): the same request again is refused, so a
-- captured request without an external_id cannot create a second ticket. Written in the
-- same transaction as what the request writes, so a request that failed can be retried.
CREATE TABLE webhook_replays (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    signature       bytea NOT NULL CHECK (octet_length(signature) = 32),
    seen_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, signature)
);
CREATE INDEX webhook_replays_seen_idx ON webhook_replays (organization_id, seen_at);
GRANT SELECT, INSERT, DELETE ON webhook_replays TO nexify_app;
ALTER TABLE webhook_replays ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhook_replays_tenant ON webhook_replays
    USING (organization_id = app_org_id())
    WITH CHECK (organization_id = app_org_id());
