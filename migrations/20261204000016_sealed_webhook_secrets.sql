-- Webhook secrets at rest are sealed (KMS envelope encryption, nexify-kms): the functions
-- store and read only the blob. A rotation may keep the previous secret valid for a grace
-- period the admin chooses, so senders can switch without failing.
--
-- `webhook_secret` (plain text) stays for secrets set before this migration: they still
-- verify, and `nexify webhook-secrets seal` replaces them with sealed ones; every rotation
-- writes the sealed form and clears the plain one.
ALTER TABLE organization_settings
    ADD COLUMN webhook_secret_sealed bytea,
    ADD COLUMN webhook_secret_previous_sealed bytea,
    ADD COLUMN webhook_secret_previous_expires_at timestamptz,
    ADD CONSTRAINT organization_settings_one_secret_form
        CHECK (webhook_secret IS NULL OR webhook_secret_sealed IS NULL),
    ADD CONSTRAINT organization_settings_previous_secret_expires
        CHECK ((webhook_secret_previous_sealed IS NULL) = (webhook_secret_previous_expires_at IS NULL));
