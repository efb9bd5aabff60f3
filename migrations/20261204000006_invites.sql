-- Invites: an admin asks someone to join the org in a role. The token goes to the invitee
-- (a link); only its SHA-256 is stored, so a database reader cannot use a pending invite.
-- Single use: accepting sets accepted_at under the row's lock.
CREATE TABLE invites (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 254),
    role            text NOT NULL CHECK (role IN ('admin', 'agent', 'viewer')),
    token_hash      bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz
);
CREATE INDEX invites_org_pending ON invites (organization_id, created_at DESC, id DESC)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON invites TO nexify_app;
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
CREATE POLICY invites_tenant ON invites
    USING (organization_id = app_org_id())
    WITH CHECK (organization_id = app_org_id());

-- An invite's record has no member as its subject yet.
ALTER TABLE audit_records ALTER COLUMN subject_user_id DROP NOT NULL;
ALTER TABLE audit_records DROP CONSTRAINT audit_records_action_check;
ALTER TABLE audit_records ADD CONSTRAINT audit_records_action_check CHECK (action IN (
    'member_role_changed', 'member_removed', 'invite_created', 'invite_revoked', 'invite_accepted'));

-- What the invite link shows before anyone signs in: the org's name, the role and the
-- invite's state. The invitee has no org scope yet, so this is one narrow SECURITY DEFINER
-- lookup by the token's hash, as login_lookup is for sign-in.
CREATE FUNCTION invite_preview(p_token_hash bytea)
RETURNS TABLE (invite_id uuid, organization_id uuid, organization_name text, email text,
               role text, expires_at timestamptz, state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id, i.organization_id, o.name, i.email, i.role, i.expires_at,
           CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                WHEN i.accepted_at IS NOT NULL THEN 'accepted'
                WHEN i.expires_at <= now() THEN 'expired'
                ELSE 'pending' END
    FROM invites i JOIN organizations o ON o.id = i.organization_id
    WHERE i.token_hash = p_token_hash
$$;
REVOKE ALL ON FUNCTION invite_preview(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invite_preview(bytea) TO nexify_app;

-- Accepting, in one statement: takes the pending invite (NX404 when it is not pending),
-- creates the user when p_user is null (the invite's email, with the given name and
-- password hash; 23505 when that email already has an account, and then nothing is
-- written), adds the membership (a member already in the org keeps their role) and
-- records it. Returns the member's user id and role.
CREATE FUNCTION accept_invite(p_token_hash bytea, p_user uuid, p_display_name text,
                              p_password_hash text)
RETURNS TABLE (user_id uuid, organization_id uuid, role text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    inv invites;
    uid uuid;
BEGIN
    UPDATE invites SET accepted_at = now()
     WHERE token_hash = p_token_hash AND accepted_at IS NULL AND revoked_at IS NULL
       AND expires_at > now()
    RETURNING * INTO inv;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no pending invite' USING ERRCODE = 'NX404';
    END IF;
    IF p_user IS NULL THEN
        INSERT INTO users (email, display_name, password_hash)
        VALUES (inv.email, p_display_name, p_password_hash)
        RETURNING id INTO uid;
    ELSE
        uid := p_user;
    END IF;
    INSERT INTO memberships (organization_id, user_id, role)
    VALUES (inv.organization_id, uid, inv.role)
    ON CONFLICT (organization_id, user_id) DO NOTHING;
    UPDATE invites SET accepted_by = uid WHERE id = inv.id;
    INSERT INTO audit_records (organization_id, actor_user_id, action, subject_user_id, details)
    VALUES (inv.organization_id, uid, 'invite_accepted', uid,
            jsonb_build_object('invite_id', inv.id, 'role', inv.role));
    RETURN QUERY
        SELECT m.user_id, m.organization_id, m.role FROM memberships m
         WHERE m.organization_id = inv.organization_id AND m.user_id = uid;
END
$$;
REVOKE ALL ON FUNCTION accept_invite(bytea, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION accept_invite(bytea, uuid, text, text) TO nexify_app;
