-- Nexify's initial schema: tenants, people, tickets and their audit trail, triage jobs and
-- suggestions, and the knowledge base. Append-only: later changes go into new files.
--
-- Tenancy is enforced three times over:
--   1. every tenant row carries organization_id, and children reference their parent through a
--      composite (organization_id, id) key, so a row can never point at another org's parent;
--   2. row-level security keyed on the per-transaction setting app.org_id (see the end);
--   3. the functions connect as nexify_app, which owns nothing and so cannot bypass RLS.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- The tenant whose rows a transaction may see; NULL when unset (then RLS shows nothing).
CREATE FUNCTION app_org_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.org_id', true), '')::uuid
$$;

-- The signed-in user, for the few reads that cross orgs: a user's own memberships.
CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.user_id', true), '')::uuid
$$;

CREATE TABLE organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_slug_unique UNIQUE (slug)
);

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    display_name  text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 200),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_unique UNIQUE (email)
);

CREATE TABLE memberships (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('admin', 'agent', 'viewer')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Per-org settings, one row per org. Teams and categories are the only labels triage may
-- suggest. auto_apply_threshold NULL means "never apply automatically".
CREATE TABLE organization_settings (
    organization_id        uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    teams                  text[] NOT NULL DEFAULT '{}',
    categories             text[] NOT NULL DEFAULT '{}',
    default_team           text,
    default_category       text,
    auto_triage_webhook    boolean NOT NULL DEFAULT false,
    auto_triage_api        boolean NOT NULL DEFAULT false,
    auto_apply_threshold   real CHECK (auto_apply_threshold BETWEEN 0 AND 1),
    webhook_secret         text CHECK (char_length(webhook_secret) >= 32),
    webhook_secret_rotated_at timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_settings_default_team_known
        CHECK (default_team IS NULL OR default_team = ANY (teams)),
    CONSTRAINT organization_settings_default_category_known
        CHECK (default_category IS NULL OR default_category = ANY (categories))
);

CREATE TABLE tickets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    requester_email text NOT NULL CHECK (char_length(requester_email) BETWEEN 3 AND 254 AND requester_email LIKE '%_@_%'),
    subject         text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 300),
    body            text NOT NULL DEFAULT '' CHECK (octet_length(body) <= 204800),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved')),
    priority        text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    assigned_team   text CHECK (char_length(assigned_team) BETWEEN 1 AND 64),
    -- The sender's own id for a webhook ticket; unique per org, which makes webhooks idempotent.
    external_id     text CHECK (char_length(external_id) BETWEEN 1 AND 200),
    resolved_at     timestamptz,
    search          tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('english', subject), 'A') ||
                        setweight(to_tsvector('english', body), 'B')
                    ) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tickets_org_id_unique UNIQUE (organization_id, id),
    CONSTRAINT tickets_org_external_id_unique UNIQUE (organization_id, external_id)
);
-- Keyset pagination walks (created_at, id) within an org, optionally within one status.
CREATE INDEX tickets_org_created_idx ON tickets (organization_id, created_at DESC, id DESC);
CREATE INDEX tickets_org_status_created_idx ON tickets (organization_id, status, created_at DESC, id DESC);
CREATE INDEX tickets_org_updated_idx ON tickets (organization_id, updated_at DESC, id DESC);
CREATE INDEX tickets_org_priority_idx ON tickets (organization_id, priority);
CREATE INDEX tickets_org_team_idx ON tickets (organization_id, assigned_team);
CREATE INDEX tickets_search_idx ON tickets USING gin (search);

CREATE TABLE job_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    ticket_id       uuid NOT NULL,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    attempt_count   integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    last_attempt_at timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_runs_org_id_unique UNIQUE (organization_id, id),
    CONSTRAINT job_runs_org_key_unique UNIQUE (organization_id, idempotency_key),
    CONSTRAINT job_runs_ticket_fk FOREIGN KEY (organization_id, ticket_id)
        REFERENCES tickets (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX job_runs_ticket_idx ON job_runs (organization_id, ticket_id, created_at DESC);
CREATE INDEX job_runs_queued_idx ON job_runs (created_at) WHERE status = 'queued';

CREATE TABLE ticket_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    ticket_id       uuid NOT NULL,
    job_run_id      uuid,
    event_type      text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'system', 'ai', 'webhook')),
    actor_user_id   uuid REFERENCES users (id),
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ticket_events_ticket_fk FOREIGN KEY (organization_id, ticket_id)
        REFERENCES tickets (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT ticket_events_job_run_fk FOREIGN KEY (organization_id, job_run_id)
        REFERENCES job_runs (organization_id, id) ON DELETE CASCADE,
    -- A user event names its user; other actors never do.
    CONSTRAINT ticket_events_actor_user CHECK ((actor_type = 'user') = (actor_user_id IS NOT NULL))
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (organization_id, ticket_id, created_at DESC, id DESC);

CREATE TABLE suggestions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL,
    ticket_id          uuid NOT NULL,
    job_run_id         uuid NOT NULL,
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    suggested_priority text NOT NULL CHECK (suggested_priority IN ('low', 'medium', 'high', 'urgent')),
    suggested_team     text CHECK (char_length(suggested_team) BETWEEN 1 AND 64),
    classification     text CHECK (char_length(classification) BETWEEN 1 AND 64),
    draft_reply        text NOT NULL DEFAULT '',
    citations          jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(citations) = 'array'),
    confidence         real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    decided_by         uuid REFERENCES users (id),
    decided_at         timestamptz,
    decision_reason    text CHECK (char_length(decision_reason) <= 2000),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT suggestions_org_id_unique UNIQUE (organization_id, id),
    -- At-least-once delivery may run a job twice; it still yields one suggestion.
    CONSTRAINT suggestions_job_run_unique UNIQUE (job_run_id),
    CONSTRAINT suggestions_ticket_fk FOREIGN KEY (organization_id, ticket_id)
        REFERENCES tickets (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT suggestions_job_run_fk FOREIGN KEY (organization_id, job_run_id)
        REFERENCES job_runs (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT suggestions_decision_consistent
        CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX suggestions_ticket_idx ON suggestions (organization_id, ticket_id, created_at DESC);

CREATE TABLE documents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
    content_type    text NOT NULL DEFAULT 'text' CHECK (content_type IN ('text', 'markdown')),
    body            text NOT NULL CHECK (octet_length(body) <= 1048576),
    source_url      text CHECK (char_length(source_url) <= 2000),
    created_by      uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_org_id_unique UNIQUE (organization_id, id)
);
CREATE INDEX documents_org_created_idx ON documents (organization_id, created_at DESC, id DESC);

CREATE TABLE document_chunks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    document_id     uuid NOT NULL,
    chunk_index     integer NOT NULL CHECK (chunk_index >= 0),
    -- Character (not byte) offsets into documents.body: body[char_start..char_end] is content.
    char_start      integer NOT NULL CHECK (char_start >= 0),
    char_end        integer NOT NULL,
    content         text NOT NULL,
    embedding       vector(384) NOT NULL,
    search          tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT document_chunks_span CHECK (char_end > char_start),
    CONSTRAINT document_chunks_index_unique UNIQUE (document_id, chunk_index),
    CONSTRAINT document_chunks_document_fk FOREIGN KEY (organization_id, document_id)
        REFERENCES documents (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX document_chunks_org_idx ON document_chunks (organization_id, document_id);
CREATE INDEX document_chunks_embedding_idx ON document_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX document_chunks_search_idx ON document_chunks USING gin (search);

-- updated_at triggers, one per table.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organizations', 'users', 'memberships', 'organization_settings',
                             'tickets', 'job_runs', 'ticket_events', 'suggestions', 'documents',
                             'document_chunks']
    LOOP
        EXECUTE format('CREATE TRIGGER %I_set_updated_at BEFORE UPDATE ON %I
                        FOR EACH ROW EXECUTE FUNCTION set_updated_at()', t, t);
    END LOOP;
END;
$$;

-- The role the functions use. It owns nothing, so RLS always applies to it. Roles are
-- cluster-wide while this migration runs once per database (tests create many at once),
-- hence the guard against a concurrent CREATE ROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nexify_app') THEN
        CREATE ROLE nexify_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT USAGE ON SCHEMA public TO nexify_app;
GRANT SELECT ON organizations TO nexify_app;
GRANT SELECT ON users TO nexify_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, organization_settings, tickets, job_runs,
    suggestions, documents, document_chunks TO nexify_app;
-- The audit trail is append-only for the application.
GRANT SELECT, INSERT ON ticket_events TO nexify_app;

-- Row-level security. Every tenant table shows a transaction only the rows of app.org_id.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organization_settings', 'tickets', 'job_runs', 'ticket_events',
                             'suggestions', 'documents', 'document_chunks']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I_tenant ON %I
                        USING (organization_id = app_org_id())
                        WITH CHECK (organization_id = app_org_id())', t, t);
    END LOOP;
END;
$$;

-- A user sees their own memberships in every org (for /me and sign-in), and all of the
-- current org's memberships.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
    USING (organization_id = app_org_id() OR user_id = app_user_id())
    WITH CHECK (organization_id = app_org_id());

-- An org is visible while it is the current org or one the signed-in user belongs to.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_tenant ON organizations
    USING (id = app_org_id()
           OR id IN (SELECT m.organization_id FROM memberships m WHERE m.user_id = app_user_id()));

-- Users are global identities, but a transaction sees only itself and the members of the
-- current org. Sign-in happens before any of that is known, so it goes through one
-- narrow SECURITY DEFINER lookup instead of a policy hole.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_visible ON users
    USING (id = app_user_id()
           OR id IN (SELECT m.user_id FROM memberships m WHERE m.organization_id = app_org_id()));

CREATE FUNCTION login_lookup(p_email text)
RETURNS TABLE (user_id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.password_hash FROM users u WHERE u.email = lower(p_email)
$$;
REVOKE ALL ON FUNCTION login_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_lookup(text) TO nexify_app;
