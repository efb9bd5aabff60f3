-- Whether a ticket is labelled (resolved, or with an accepted suggestion), kept beside its
-- embeddings, so that finding a new ticket's nearest labelled tickets reads only labelled
-- rows through a partial index. Before, every triage scanned all of the org's embedded
-- tickets, labelled or not, and checked each one: a cost that grew with the org's whole
-- triaged history. Triggers keep the flag true to its definition (the same as `LABELLED` in
-- shared/storage/src/tickets.rs) whatever code path changes a ticket or a suggestion.
CREATE FUNCTION ticket_is_labelled(p_org uuid, p_ticket uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM tickets t
        WHERE t.organization_id = p_org AND t.id = p_ticket
          AND (t.status = 'resolved' OR EXISTS (
              SELECT 1 FROM suggestions s
              WHERE s.organization_id = t.organization_id AND s.ticket_id = t.id
                AND s.status = 'accepted')))
$$;

ALTER TABLE ticket_embeddings ADD COLUMN labelled boolean NOT NULL DEFAULT false;
UPDATE ticket_embeddings SET labelled = ticket_is_labelled(organization_id, ticket_id);
CREATE INDEX ticket_embeddings_labelled_idx ON ticket_embeddings (organization_id, embedder)
    WHERE labelled;

-- A stored embedding starts with its ticket's current state.
CREATE FUNCTION ticket_embeddings_set_labelled() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.labelled := ticket_is_labelled(NEW.organization_id, NEW.ticket_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER ticket_embeddings_labelled BEFORE INSERT ON ticket_embeddings
    FOR EACH ROW EXECUTE FUNCTION ticket_embeddings_set_labelled();

-- A ticket resolved or reopened, or a suggestion accepted (or, by a correction, no longer
-- accepted), re-derives the flag of that ticket's embeddings.
CREATE FUNCTION relabel_ticket_embeddings(p_org uuid, p_ticket uuid) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp AS $$
    UPDATE ticket_embeddings SET labelled = ticket_is_labelled(p_org, p_ticket)
    WHERE organization_id = p_org AND ticket_id = p_ticket
      AND labelled IS DISTINCT FROM ticket_is_labelled(p_org, p_ticket)
$$;
CREATE FUNCTION tickets_relabel_embeddings() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM relabel_ticket_embeddings(NEW.organization_id, NEW.id);
    RETURN NULL;
END
$$;
CREATE FUNCTION suggestions_relabel_embeddings() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM relabel_ticket_embeddings(NEW.organization_id, NEW.ticket_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_relabel_embeddings AFTER UPDATE OF status ON tickets
    FOR EACH ROW WHEN ((OLD.status = 'resolved') IS DISTINCT FROM (NEW.status = 'resolved'))
    EXECUTE FUNCTION tickets_relabel_embeddings();
CREATE TRIGGER suggestions_insert_relabel_embeddings AFTER INSERT ON suggestions
    FOR EACH ROW WHEN (NEW.status = 'accepted')
    EXECUTE FUNCTION suggestions_relabel_embeddings();
CREATE TRIGGER suggestions_relabel_embeddings AFTER UPDATE OF status ON suggestions
    FOR EACH ROW WHEN ((OLD.status = 'accepted') IS DISTINCT FROM (NEW.status = 'accepted'))
    EXECUTE FUNCTION suggestions_relabel_embeddings();
