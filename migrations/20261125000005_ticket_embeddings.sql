-- Each ticket's embedding (subject and body), per embedder: the worker stores it when it
-- triages a ticket, training stores it for labelled tickets. Training reuses them instead
-- of re-embedding the whole history, and triage finds a new ticket's nearest labelled
-- tickets with them (the explanation, and the fallback before an org has a model).
CREATE TABLE ticket_embeddings (
    organization_id uuid NOT NULL,
    ticket_id       uuid NOT NULL,
    embedder        text NOT NULL CHECK (char_length(embedder) BETWEEN 1 AND 64),
    embedding       vector(384) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, ticket_id, embedder),
    CONSTRAINT ticket_embeddings_ticket_fk FOREIGN KEY (organization_id, ticket_id)
        REFERENCES tickets (organization_id, id) ON DELETE CASCADE
);
CREATE TRIGGER ticket_embeddings_set_updated_at BEFORE UPDATE ON ticket_embeddings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE ticket_embeddings ENABLE ROW LEVEL SECURITY;
CREATE POLICY ticket_embeddings_tenant ON ticket_embeddings
    USING (organization_id = app_org_id()) WITH CHECK (organization_id = app_org_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_embeddings TO nexify_app;
