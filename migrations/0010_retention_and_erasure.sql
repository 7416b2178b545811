-- Retention and erasure.
--
-- Retention deletes finished reminders (with their history), published dead letters and
-- status records, and inbox keys once they are older than their windows; each prune
-- walks one of the indexes below from its oldest entry, a small batch at a time.
-- Erasure removes one user's content, addresses and message bytes, and records that it
-- did so under a hash of the user id.
--
-- On a large database this migration builds its indexes while it holds the tables'
-- write locks: run it in a quiet moment (docs/operations.md).

-- When a reminder's content, addresses and message bytes were removed (an erasure, or
-- retention that keeps history: RETENTION_MODE=redact). NULL while they are kept.
ALTER TABLE reminders ADD COLUMN erased_at timestamptz;

-- The user a dead letter is about, when known: the event's `user_id` (also read from an
-- invalid event when it has one), or the reminder's. Erasure finds dead letters by it.
ALTER TABLE dead_letters ADD COLUMN user_id text;

-- Finished reminders by when they finished (their last change), oldest first: those with
-- their content still in them, and those already erased or redacted.
CREATE INDEX reminders_finished ON reminders (updated_at)
    WHERE state IN ('DELIVERED', 'CANCELLED', 'DEAD_LETTER') AND erased_at IS NULL;
CREATE INDEX reminders_erased ON reminders (updated_at)
    WHERE state IN ('DELIVERED', 'CANCELLED', 'DEAD_LETTER') AND erased_at IS NOT NULL;
CREATE INDEX inbox_received ON inbox (received_at);
-- A reminder is kept while a dead letter points at it (its replay needs it); deleting
-- one looks its dead letters up by it.
CREATE INDEX dead_letters_reminder ON dead_letters (reminder_id) WHERE reminder_id IS NOT NULL;
CREATE INDEX dead_letters_user ON dead_letters (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX status_events_published ON status_events (at) WHERE published_at IS NOT NULL;

-- One row per erasure asked for (API or CLI): no personal data, the user id only as its
-- SHA-256, so an auditor holding the id can find the record.
CREATE TABLE erasures (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id_sha256 bytea NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    -- Reminders cancelled by the erasure (pending ones: nothing is sent after it returns).
    reminders_cancelled integer NOT NULL,
    -- Reminders, delivery attempts and dead letters whose personal data it removed.
    reminders_erased integer NOT NULL,
    attempts_erased integer NOT NULL,
    dead_letters_erased integer NOT NULL
);
CREATE INDEX erasures_user ON erasures (user_id_sha256);
