-- Entering an org, for every org-scoped request, in the round trip that begins its
-- transaction (nexify_storage::begin_member sends `SELECT enter_org(…); BEGIN` as one simple
-- query) instead of a membership read of its own. It scopes the transaction to the org and
-- user, as begin_tenant does, and checks that the user is a member with at least
-- `required`: NX404 when they are not a member (never told apart from an org that does not
-- exist), NX403 when their role is lower. It runs before BEGIN, in the implicit transaction
-- that BEGIN then turns into the request's, so the settings last for the request; and when
-- it refuses, no transaction is left open on the connection. Runs as the caller, so
-- row-level security applies to the read.
CREATE FUNCTION enter_org(org uuid, member uuid, required text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held text;
BEGIN
    PERFORM set_config('app.org_id', org::text, true);
    PERFORM set_config('app.user_id', member::text, true);
    SELECT role INTO held FROM memberships
     WHERE organization_id = org AND user_id = member;
    IF held IS NULL THEN
        RAISE EXCEPTION 'not a member of the organization' USING ERRCODE = 'NX404';
    END IF;
    IF array_position(ARRAY['viewer', 'agent', 'admin'], held)
       < array_position(ARRAY['viewer', 'agent', 'admin'], required) THEN
        RAISE EXCEPTION 'the role is too low' USING ERRCODE = 'NX403';
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION enter_org(uuid, uuid, text) TO nexify_app;
