-- Server-side sessions: a refresh token is a random secret stored only as its SHA-256, and
-- each use rotates it. A rotated token used again means it was copied: that revokes its
-- whole family (every token descended from the same sign-in), as OAuth 2.0's security best
-- current practice advises. The application role reaches the table only through the
-- functions below (RLS on, no policy, no grants).
CREATE TABLE sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;

-- A new family, at sign-in.
CREATE FUNCTION session_start(p_user uuid, p_token_hash bytea, p_ttl_seconds integer)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO sessions (user_id, family_id, token_hash, expires_at)
    VALUES (p_user, gen_random_uuid(), p_token_hash, now() + make_interval(secs => p_ttl_seconds))
$$;

-- Exchanges a refresh token for its successor. Outcome: 'rotated' (the new hash is stored),
-- 'unknown', 'revoked', 'expired', or 'reused' (the token had been rotated already: its
-- family is revoked now, and that is committed, since nothing is raised).
CREATE FUNCTION session_rotate(p_token_hash bytea, p_new_hash bytea, p_ttl_seconds integer)
RETURNS TABLE (user_id uuid, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hit sessions;
BEGIN
    SELECT * INTO hit FROM sessions s WHERE s.token_hash = p_token_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::uuid, 'unknown'::text;
        RETURN;
    END IF;
    IF hit.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT hit.user_id, 'revoked'::text;
        RETURN;
    END IF;
    IF hit.rotated_at IS NOT NULL THEN
        UPDATE sessions s SET revoked_at = now()
         WHERE s.family_id = hit.family_id AND s.revoked_at IS NULL;
        RETURN QUERY SELECT hit.user_id, 'reused'::text;
        RETURN;
    END IF;
    IF hit.expires_at <= now() THEN
        RETURN QUERY SELECT hit.user_id, 'expired'::text;
        RETURN;
    END IF;
    UPDATE sessions s SET rotated_at = now() WHERE s.id = hit.id;
    INSERT INTO sessions (user_id, family_id, token_hash, expires_at)
    VALUES (hit.user_id, hit.family_id, p_new_hash,
            now() + make_interval(secs => p_ttl_seconds));
    RETURN QUERY SELECT hit.user_id, 'rotated'::text;
END
$$;

-- Sign-out: revokes the token's family, or with p_everywhere every session of its user.
-- Returns the user, or null for a token it does not know.
CREATE FUNCTION session_end(p_token_hash bytea, p_everywhere boolean)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hit sessions;
BEGIN
    SELECT * INTO hit FROM sessions s WHERE s.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE sessions s SET revoked_at = now()
     WHERE s.revoked_at IS NULL
       AND (s.family_id = hit.family_id OR (p_everywhere AND s.user_id = hit.user_id));
    RETURN hit.user_id;
END
$$;

-- Every session of a user, for a password change or a removal from an org.
CREATE FUNCTION sessions_revoke_user(p_user uuid)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH revoked AS (
        UPDATE sessions SET revoked_at = now()
         WHERE user_id = p_user AND revoked_at IS NULL RETURNING 1)
    SELECT count(*) FROM revoked
$$;

REVOKE ALL ON FUNCTION session_start(uuid, bytea, integer), session_rotate(bytea, bytea, integer),
    session_end(bytea, boolean), sessions_revoke_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_start(uuid, bytea, integer), session_rotate(bytea, bytea, integer),
    session_end(bytea, boolean), sessions_revoke_user(uuid) TO nexify_app;
