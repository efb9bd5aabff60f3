-- A ticket's conversation: the requester's messages (`inbound`), answers to the requester
-- (`reply`) and internal notes (`note`), oldest first. The ticket's own body is its first
-- inbound message: a statement trigger writes it with every insert of tickets, whichever
-- path inserts them, and existing tickets get theirs below.
CREATE TABLE ticket_messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    ticket_id       uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('inbound', 'reply', 'note')),
    author_type     text NOT NULL CHECK (author_type IN ('user', 'webhook', 'ai')),
    author_user_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    body            text NOT NULL CHECK (octet_length(body) <= 204800),
    -- The sender's own id for a webhook follow-up: the same follow-up twice is one message.
    external_id     text CHECK (char_length(external_id) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ticket_messages_ticket_fk FOREIGN KEY (organization_id, ticket_id)
        REFERENCES tickets (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT ticket_messages_external_unique UNIQUE (organization_id, ticket_id, external_id),
    -- Only the first inbound message may be empty (a ticket may have no body); what people
    -- write is never empty.
    CONSTRAINT ticket_messages_written CHECK (kind = 'inbound' OR char_length(body) > 0)
);
CREATE INDEX ticket_messages_ticket_idx
    ON ticket_messages (organization_id, ticket_id, created_at, id);

GRANT SELECT, INSERT ON ticket_messages TO nexify_app;
ALTER TABLE ticket_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY ticket_messages_tenant ON ticket_messages
    USING (organization_id = app_org_id())
    WITH CHECK (organization_id = app_org_id());

-- The first message of each new ticket: written by the user in scope, if any (the console,
-- the API, an admin's import), otherwise by a webhook sender (or an operator's tool).
CREATE FUNCTION tickets_first_message() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_messages (organization_id, ticket_id, kind, author_type, author_user_id,
                                 body, created_at)
    SELECT i.organization_id, i.id, 'inbound',
           CASE WHEN app_user_id() IS NULL THEN 'webhook' ELSE 'user' END,
           app_user_id(), i.body, i.created_at
      FROM inserted i;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_first_message AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_first_message();

INSERT INTO ticket_messages (organization_id, ticket_id, kind, author_type, author_user_id, body,
                             created_at)
SELECT t.organization_id, t.id, 'inbound',
       CASE WHEN e.actor_type = 'user' THEN 'user' ELSE 'webhook' END,
       CASE WHEN e.actor_type = 'user' THEN e.actor_user_id END,
       t.body, t.created_at
  FROM tickets t
  LEFT JOIN LATERAL (
      SELECT ev.actor_type, ev.actor_user_id FROM ticket_events ev
       WHERE ev.organization_id = t.organization_id AND ev.ticket_id = t.id
         AND ev.event_type = 'ticket_created'
       ORDER BY ev.created_at LIMIT 1) e ON true;
