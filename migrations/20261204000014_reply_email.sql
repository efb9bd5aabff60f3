-- Replies reach the requester by email when the org names a sender for them (an address
-- SES may send from). A reply written then starts `pending`; the sweep mails it and records
-- `sent`, or retries, and after five failed attempts records `failed` with the reason.
ALTER TABLE organization_settings
    ADD COLUMN reply_from text
        CHECK (char_length(reply_from) BETWEEN 3 AND 254 AND reply_from LIKE '%_@_%');

ALTER TABLE ticket_messages
    ADD COLUMN delivery_state text CHECK (delivery_state IN ('pending', 'sent', 'failed')),
    ADD COLUMN delivery_error text,
    ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN delivered_at timestamptz,
    ADD CONSTRAINT ticket_messages_delivery_is_for_replies
        CHECK (delivery_state IS NULL OR kind = 'reply');
GRANT UPDATE (delivery_state, delivery_error, delivery_attempts, delivered_at)
    ON ticket_messages TO nexify_app;
CREATE INDEX ticket_messages_pending_idx ON ticket_messages (created_at)
    WHERE delivery_state = 'pending';

-- The sweep's worklist across orgs: replies waiting to be mailed.
CREATE FUNCTION due_reply_emails(p_limit integer)
RETURNS TABLE (message_id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT m.id, m.organization_id FROM ticket_messages m
    WHERE m.delivery_state = 'pending'
    ORDER BY m.created_at
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION due_reply_emails(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_reply_emails(integer) TO nexify_app;
