-- A password change: the new hash, and every session of the user ends, in one statement.
-- The application role may not write users, hence SECURITY DEFINER.
CREATE FUNCTION set_password(p_user uuid, p_hash text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE users SET password_hash = p_hash WHERE id = p_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such user' USING ERRCODE = 'NX404';
    END IF;
    PERFORM sessions_revoke_user(p_user);
END
$$;
REVOKE ALL ON FUNCTION set_password(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_password(uuid, text) TO nexify_app;
