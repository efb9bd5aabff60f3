-- Failed attempts at signing in and at accepting invites, counted per key
-- ('account:<email>', 'ip:<address>') in fixed windows. Unlogged: a crash forgets a few
-- failures at worst, and the counting stays cheap. Reached only through the functions.
CREATE UNLOGGED TABLE auth_failures (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL
);
ALTER TABLE auth_failures ENABLE ROW LEVEL SECURITY;

-- How many seconds until every key may try again: 0 when none has reached its limit in
-- its current window.
CREATE FUNCTION auth_wait_seconds(p_keys text[], p_limits integer[], p_window_seconds integer)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT COALESCE(max(ceil(extract(epoch FROM
               f.window_start + make_interval(secs => p_window_seconds) - now())))::integer, 0)
    FROM auth_failures f
    JOIN unnest(p_keys, p_limits) AS k(key, max_failures) ON k.key = f.key
    WHERE f.failures >= k.max_failures
      AND f.window_start + make_interval(secs => p_window_seconds) > now()
$$;

-- One more failure for each key; a key whose window is over starts a new one.
CREATE FUNCTION auth_failed(p_keys text[], p_window_seconds integer) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO auth_failures AS f (key, window_start, failures)
    SELECT k, now(), 1 FROM unnest(p_keys) AS k
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN f.window_start + make_interval(secs => p_window_seconds) <= now()
                            THEN now() ELSE f.window_start END,
        failures = CASE WHEN f.window_start + make_interval(secs => p_window_seconds) <= now()
                        THEN 1 ELSE f.failures + 1 END
$$;

-- A success forgets that key's failures (an account's, not an address's).
CREATE FUNCTION auth_succeeded(p_key text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM auth_failures WHERE key = p_key
$$;

REVOKE ALL ON FUNCTION auth_wait_seconds(text[], integer[], integer),
    auth_failed(text[], integer), auth_succeeded(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_wait_seconds(text[], integer[], integer),
    auth_failed(text[], integer), auth_succeeded(text) TO nexify_app;
