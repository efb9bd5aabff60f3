-- Who changed an org's membership, and how: role changes and removals, with the admin who
-- made them. Append-only for the application, like ticket_events. The subject is not a
-- foreign key: the record outlives the membership it describes.
CREATE TABLE audit_records (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL CHECK (action IN ('member_role_changed', 'member_removed')),
    subject_user_id uuid NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_records_org_created ON audit_records (organization_id, created_at DESC, id DESC);

GRANT SELECT, INSERT ON audit_records TO nexify_app;
ALTER TABLE audit_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_records_tenant ON audit_records
    USING (organization_id = app_org_id())
    WITH CHECK (organization_id = app_org_id());

-- The members page lists an org's memberships oldest first.
CREATE INDEX memberships_org_joined ON memberships (organization_id, created_at, user_id);
