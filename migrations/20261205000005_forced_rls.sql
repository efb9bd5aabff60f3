-- Row-level security binds the tables' owner too (FORCE), so a connection as the owner no
-- longer reads every org's rows.
--
-- The SECURITY DEFINER functions, which must reach across orgs (sign-in by email, the
-- sweeps, invites, sessions), ran as that owner. They now belong to nexify_definer: a role
-- that cannot log in, owns no table, has no BYPASSRLS (which RDS's master user cannot grant),
-- and passes the policies by one explicit policy per table, TO nexify_definer only. The
-- owner may SET ROLE to it (to own and replace those functions) but does not inherit it,
-- so that policy never applies to the owner's own statements.
--
-- A data fix in a later migration that must see every org runs under
-- SET LOCAL ROLE nexify_definer; a new SECURITY DEFINER function is given to nexify_definer,
-- and a new tenant table gets FORCE and the policy. A schema test checks all three.

-- Roles are cluster-wide while this runs once per database (tests create many at once).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nexify_definer') THEN
        CREATE ROLE nexify_definer NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

-- A superuser (the local owner) needs no membership: skipping it keeps the many test
-- databases migrated at once from granting the same cluster-wide membership together.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = current_user AND rolsuper)
       AND NOT pg_has_role(current_user, 'nexify_definer', 'SET') THEN
        GRANT nexify_definer TO CURRENT_USER WITH INHERIT FALSE, SET TRUE;
    END IF;
END;
$$;

GRANT USAGE, CREATE ON SCHEMA public TO nexify_definer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO nexify_definer;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO nexify_definer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO nexify_definer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO nexify_definer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO nexify_definer;

DO $$
DECLARE
    t regclass;
    f regprocedure;
BEGIN
    FOR t IN
        SELECT c.oid FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relrowsecurity
    LOOP
        EXECUTE format('CREATE POLICY definer ON %s TO nexify_definer USING (true) WITH CHECK (true)', t);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    END LOOP;
    FOR f IN
        SELECT p.oid FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO nexify_definer', f);
    END LOOP;
END;
$$;
