-- Personal data sealed at rest (DATA_ENCRYPTION_KEYS, off by default).
--
-- A row sealed under a key names the key's id in `sealed_with`; NULL means the row is
-- plaintext, as every row was before. Sealed, a reminder (and a pending replacement)
-- keeps only its channel types in `channels` (what `GET /v1/reminders/{id}` shows),
-- the JSON `null` in `content`, the full channel list and content sealed in
-- `sealed_channels` and `sealed_content`, and the original message's key and value
-- sealed in place (`source_key`, `source_value`). A dead letter seals its message's key
-- and value in place. What lookups need stays plaintext: ids, user id, state, times.
-- All nullable without defaults: adding them rewrites nothing.
ALTER TABLE reminders
    ADD COLUMN sealed_with text,
    ADD COLUMN sealed_channels bytea,
    ADD COLUMN sealed_content bytea;
ALTER TABLE pending_replacements
    ADD COLUMN sealed_with text,
    ADD COLUMN sealed_channels bytea,
    ADD COLUMN sealed_content bytea;
ALTER TABLE dead_letters ADD COLUMN sealed_with text;

-- Every key id that has been current on some instance: rows may be sealed under it.
-- Start-up refuses a database that names an id it is not configured with (without
-- scanning the big tables); `notification-service reseal` removes an id once no row is
-- sealed under it any more.
CREATE TABLE data_encryption_keys (
    key_id text PRIMARY KEY,
    registered_at timestamptz NOT NULL DEFAULT now()
);
