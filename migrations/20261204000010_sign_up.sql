-- Self-service sign-up, in one statement: the account, a new org with its settings, and the
-- account as the org's admin. The application role may not write users or organizations,
-- hence SECURITY DEFINER. A taken email or slug is a unique violation, and nothing is kept.
CREATE FUNCTION sign_up(p_email text, p_display_name text, p_password_hash text,
                        p_org_name text, p_org_slug text)
RETURNS TABLE (user_id uuid, organization_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_user uuid;
    new_org uuid;
BEGIN
    INSERT INTO users (email, display_name, password_hash)
    VALUES (p_email, p_display_name, p_password_hash)
    RETURNING id INTO new_user;
    INSERT INTO organizations (name, slug) VALUES (p_org_name, p_org_slug)
    RETURNING id INTO new_org;
    INSERT INTO organization_settings (organization_id) VALUES (new_org);
    INSERT INTO memberships (organization_id, user_id, role) VALUES (new_org, new_user, 'admin');
    RETURN QUERY SELECT new_user, new_org;
END
$$;
REVOKE ALL ON FUNCTION sign_up(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sign_up(text, text, text, text, text) TO nexify_app;
