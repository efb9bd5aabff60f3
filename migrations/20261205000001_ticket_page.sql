-- The ticket list in one statement, so one round trip: enter the org as `member` (enter_org's
-- scope and membership check, local to the statement's own implicit transaction), then one
-- page of the org's tickets with the per-status counts of those that match the filter (its
-- status aside). Before, the list began a transaction, read, and committed: three round trips.
--
-- `sort_column` is created_at or updated_at; the page is the `page_size` rows strictly after
-- (after_at, after_id) in that order. Counts without a priority, team, category or text
-- filter are the trigger-kept totals (migration 6). The counts ride on every row; an empty
-- page returns one row of counts whose ticket columns are NULL.
--
-- The page is built as text and run by EXECUTE, so each call is planned with its own values
-- and each filter and order uses its index. Only fixed fragments go into the text: every
-- value is a parameter. Runs as the caller, so row-level security applies.
CREATE FUNCTION ticket_page(
    org uuid, member uuid,
    status_is text, priority_is text, team_is text, category_is text, q text,
    sort_column text, descending boolean, after_at timestamptz, after_id uuid, page_size bigint)
RETURNS TABLE (
    id uuid, organization_id uuid, requester_email text, subject text, body text,
    status text, priority text, assigned_team text, category text, external_id text,
    resolved_at timestamptz, created_at timestamptz, updated_at timestamptz,
    status_counts json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    matching text := ' WHERE organization_id = $1'
        || CASE WHEN priority_is IS NULL THEN '' ELSE ' AND priority = $3' END
        || CASE WHEN team_is IS NULL THEN '' ELSE ' AND assigned_team = $4' END
        || CASE WHEN category_is IS NULL THEN '' ELSE ' AND category = $5' END
        || CASE WHEN q IS NULL THEN ''
                ELSE ' AND search @@ websearch_to_tsquery(''english'', $6)' END;
    counted text := '(SELECT coalesce(json_agg(json_build_array(c.status, c.n)), ''[]'') FROM ('
        || CASE WHEN priority_is IS NULL AND team_is IS NULL AND category_is IS NULL AND q IS NULL
                THEN 'SELECT status, n FROM ticket_status_counts WHERE organization_id = $1'
                ELSE 'SELECT status, count(*) AS n FROM tickets' || matching || ' GROUP BY status'
           END
        || ') c)';
    direction text := CASE WHEN descending THEN 'DESC' ELSE 'ASC' END;
BEGIN
    IF sort_column NOT IN ('created_at', 'updated_at') THEN
        RAISE EXCEPTION 'unknown sort column %', sort_column USING ERRCODE = '22023';
    END IF;
    PERFORM enter_org(org, member, 'viewer');
    RETURN QUERY EXECUTE format(
        'SELECT id, organization_id, requester_email, subject, body, status, priority,
                assigned_team, category, external_id, resolved_at, created_at, updated_at, %s
           FROM tickets%s%s%s ORDER BY %I %s, id %s LIMIT $9',
        counted,
        matching,
        CASE WHEN status_is IS NULL THEN '' ELSE ' AND status = $2' END,
        CASE WHEN after_at IS NULL THEN ''
             ELSE format(' AND (%I, id) %s ($7, $8)', sort_column,
                         CASE WHEN descending THEN '<' ELSE '>' END) END,
        sort_column, direction, direction)
    USING org, status_is, priority_is, team_is, category_is, q, after_at, after_id, page_size;
    IF NOT FOUND THEN
        RETURN QUERY EXECUTE
            'SELECT NULL::uuid, NULL::uuid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, ' || counted
        USING org, status_is, priority_is, team_is, category_is, q;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION ticket_page(uuid, uuid, text, text, text, text, text, text, boolean,
    timestamptz, uuid, bigint) TO nexify_app;
