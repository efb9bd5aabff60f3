-- relabel_ticket_embeddings derived the ticket's labelled state twice (in SET and in WHERE);
-- it now derives it once for all of the ticket's embeddings.
CREATE OR REPLACE FUNCTION relabel_ticket_embeddings(p_org uuid, p_ticket uuid) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp AS $$
    UPDATE ticket_embeddings e SET labelled = now_labelled.value
    FROM (SELECT ticket_is_labelled(p_org, p_ticket) AS value) now_labelled
    WHERE e.organization_id = p_org AND e.ticket_id = p_ticket
      AND e.labelled IS DISTINCT FROM now_labelled.value
$$;
