-- Knowledge-base chunks are hash-partitioned by org, and each partition has its own HNSW
-- index. One HNSW index over every org's chunks answers an org's query by walking other
-- orgs' chunks too: at a 10% slice it scanned several times more of the graph and still
-- lost recall, and below that it needed the exact path. With 16 partitions, a large org
-- shares its graph with the few orgs that hash alongside it, so its HNSW search filters
-- little (see README, Retrieval). Keys include organization_id, as a partitioned table's
-- unique constraints must; every query names the org anyway.
ALTER TABLE document_chunks RENAME TO document_chunks_unpartitioned;
ALTER INDEX document_chunks_pkey RENAME TO document_chunks_unpartitioned_pkey;
ALTER INDEX document_chunks_index_unique RENAME TO document_chunks_unpartitioned_index_unique;
ALTER INDEX document_chunks_org_idx RENAME TO document_chunks_unpartitioned_org_idx;
ALTER INDEX document_chunks_embedding_idx RENAME TO document_chunks_unpartitioned_embedding_idx;
ALTER INDEX document_chunks_search_idx RENAME TO document_chunks_unpartitioned_search_idx;

CREATE TABLE document_chunks (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
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
    CONSTRAINT document_chunks_pkey PRIMARY KEY (id, organization_id),
    CONSTRAINT document_chunks_span CHECK (char_end > char_start),
    CONSTRAINT document_chunks_index_unique UNIQUE (document_id, chunk_index, organization_id),
    CONSTRAINT document_chunks_document_fk FOREIGN KEY (organization_id, document_id)
        REFERENCES documents (organization_id, id) ON DELETE CASCADE
) PARTITION BY HASH (organization_id);

DO $$
BEGIN
    FOR r IN 0..15 LOOP
        EXECUTE format('CREATE TABLE document_chunks_p%s PARTITION OF document_chunks
                        FOR VALUES WITH (MODULUS 16, REMAINDER %s)', r, r);
    END LOOP;
END;
$$;

INSERT INTO document_chunks (id, organization_id, document_id, chunk_index, char_start,
                             char_end, content, embedding, created_at, updated_at)
SELECT id, organization_id, document_id, chunk_index, char_start, char_end, content,
       embedding, created_at, updated_at
FROM document_chunks_unpartitioned;
DROP TABLE document_chunks_unpartitioned;

CREATE INDEX document_chunks_org_idx ON document_chunks (organization_id, document_id);
CREATE INDEX document_chunks_embedding_idx ON document_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX document_chunks_search_idx ON document_chunks USING gin (search);

CREATE TRIGGER document_chunks_set_updated_at BEFORE UPDATE ON document_chunks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

GRANT SELECT, INSERT, UPDATE, DELETE ON document_chunks TO nexify_app;
-- Row-level security on the parent covers every query through it; the partitions grant the
-- application nothing, so it cannot reach them directly.
ALTER TABLE document_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY document_chunks_tenant ON document_chunks
    USING (organization_id = app_org_id())
    WITH CHECK (organization_id = app_org_id());
