-- Password reset by a mailed token: a random secret stored only as its SHA-256, single use,
-- short-lived. The application role reaches the table only through the functions below
-- (RLS on, no policy, no grants), as with sessions.
CREATE TABLE password_resets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;

-- Stores a reset for the account with this email and returns its user and display name;
-- no row for an unknown email (the caller answers the same either way). A newer request
-- supersedes the account's unused ones, so only the latest mail works.
CREATE FUNCTION password_reset_issue(p_email text, p_token_hash bytea, p_ttl_seconds integer)
RETURNS TABLE (user_id uuid, display_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hit users;
BEGIN
    SELECT * INTO hit FROM users u WHERE u.email = lower(p_email);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    DELETE FROM password_resets r WHERE r.user_id = hit.id AND r.used_at IS NULL;
    INSERT INTO password_resets (user_id, token_hash, expires_at)
    VALUES (hit.id, p_token_hash, now() + make_interval(secs => p_ttl_seconds));
    RETURN QUERY SELECT hit.id, hit.display_name;
END
$$;

-- Completes a reset. Outcome: 'reset' (the token is spent, the password set and every
-- session of the user ended, in this one statement), 'unknown', 'used' or 'expired'.
CREATE FUNCTION password_reset_confirm(p_token_hash bytea, p_password_hash text)
RETURNS TABLE (user_id uuid, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hit password_resets;
BEGIN
    SELECT * INTO hit FROM password_resets r WHERE r.token_hash = p_token_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::uuid, 'unknown'::text;
        RETURN;
    END IF;
    IF hit.used_at IS NOT NULL THEN
        RETURN QUERY SELECT hit.user_id, 'used'::text;
        RETURN;
    END IF;
    IF hit.expires_at <= now() THEN
        RETURN QUERY SELECT hit.user_id, 'expired'::text;
        RETURN;
    END IF;
    UPDATE password_resets r SET used_at = now() WHERE r.id = hit.id;
    PERFORM set_password(hit.user_id, p_password_hash);
    RETURN QUERY SELECT hit.user_id, 'reset'::text;
END
$$;

REVOKE ALL ON FUNCTION password_reset_issue(text, bytea, integer),
    password_reset_confirm(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION password_reset_issue(text, bytea, integer),
    password_reset_confirm(bytea, text) TO nexify_app;
