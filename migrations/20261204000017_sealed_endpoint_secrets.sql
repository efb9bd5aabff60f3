-- Outbound endpoints' signing secrets are sealed at rest too (as webhook secrets are since
-- migration 16): new endpoints store only `secret_sealed`; endpoints from before keep
-- `secret` until `nexify webhook-secrets seal` seals it.
ALTER TABLE webhook_endpoints
    ADD COLUMN secret_sealed bytea,
    ALTER COLUMN secret DROP NOT NULL,
    ADD CONSTRAINT webhook_endpoints_one_secret_form
        CHECK ((secret IS NULL) <> (secret_sealed IS NULL));
