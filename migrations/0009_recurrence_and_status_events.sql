-- Recurring reminders and the status outbox.
--
-- A recurring reminder keeps one row, which holds one occurrence at a time: when an
-- occurrence is done (delivered or dead-lettered), the transaction that records its
-- outcome moves the row on to the next occurrence (state SCHEDULED, new due time, no
-- attempts). `occurrence` numbers the occurrences of a reminder from 1 and never repeats,
-- also across replacements of its rule: the providers' idempotency key derives from it.
-- All nullable without defaults: adding them rewrites nothing, and a one-off reminder
-- leaves them NULL.
ALTER TABLE reminders
    -- The rule as canonical JSON (`recurrence` of the event); NULL for a one-off.
    ADD COLUMN recurrence text,
    -- The current occurrence: its number, its position in the current rule (what COUNT
    -- counts) and its wall-clock time in `time_zone`.
    ADD COLUMN occurrence integer,
    ADD COLUMN occurrence_index integer,
    ADD COLUMN occurrence_local timestamp,
    -- The wall-clock instant of the last occurrence done: a replaced rule starts after it.
    ADD COLUMN previous_occurrence_at timestamptz;
ALTER TABLE pending_replacements
    ADD COLUMN recurrence text,
    ADD COLUMN occurrence integer,
    ADD COLUMN occurrence_index integer,
    ADD COLUMN occurrence_local timestamp,
    ADD COLUMN previous_occurrence_at timestamptz;

-- Which occurrence each step of the history and each channel tried belongs to (NULL for
-- a one-off reminder).
ALTER TABLE reminder_transitions ADD COLUMN occurrence integer;
ALTER TABLE delivery_attempts ADD COLUMN occurrence integer;

-- The status outbox: one row per outcome a publisher cares about, inserted in the
-- transaction of the state change, published to the status topic (key = user_id) by the
-- status relay, which then sets published_at. `id` goes out as the record's `x-status-id`
-- header, to deduplicate on; `seq` orders one reminder's records. No personal data: the
-- channel's type and the provider's name, never an address or content.
CREATE TABLE status_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq bigserial NOT NULL UNIQUE,
    reminder bigint NOT NULL,
    reminder_id text NOT NULL,
    user_id text NOT NULL,
    correlation_id text,
    type text NOT NULL CHECK (type IN
        ('scheduled', 'delivered', 'attempt_failed', 'dead_lettered', 'cancelled', 'expired')),
    occurrence integer,
    attempt integer NOT NULL DEFAULT 0,
    channel text,
    provider text,
    -- attempt_failed: whether the same occurrence is attempted again.
    will_retry boolean,
    -- scheduled: when it is due; attempt_failed with a retry: when the retry is due.
    due_at timestamptz,
    -- dead_lettered and expired: the dead-letter reason and error.
    reason text,
    error text,
    detail text,
    at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX status_events_unpublished ON status_events (seq) WHERE published_at IS NULL;
