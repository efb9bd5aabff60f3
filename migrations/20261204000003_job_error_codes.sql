-- A failed attempt is recorded as a stable code and a sentence that names no database,
-- provider or ticket text (anyone in the org can read jobs and events); the full error goes
-- to the logs only. Earlier attempts stored raw error text: it is replaced here.
ALTER TABLE job_runs ADD COLUMN last_error_code text
    CONSTRAINT job_runs_last_error_code_format CHECK (last_error_code ~ '^[a-z_]{1,40}$');

UPDATE job_runs SET last_error_code = 'internal', last_error = 'An internal error occurred.'
    WHERE last_error IS NOT NULL;

UPDATE ticket_events
    SET payload = payload || '{"error": "An internal error occurred.", "error_code": "internal"}'
    WHERE event_type = 'ai_triage_failed';
